package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The start and memory figures of issue 12 (docs/benchmarks.md "Memory and
// start (issue 12)"): start to ready, cold and warm, and the idle RSS of
// `gatehouse serve --demo`. `benchload run` prints them with the load
// table; `benchload start` measures only them, a few rounds, in seconds.

// memSample is /proc/PID/smaps_rollup of an idle process, in KiB.
type memSample struct {
	RSS  int64 `json:"rss_kib"`
	Anon int64 `json:"anon_kib"` // Pss_Anon: heap, compiled guest code, C allocations
	File int64 `json:"file_kib"` // Pss_File: the binary's (and libc's) pages
}

// parseSmapsRollup reads Rss, Pss_Anon and Pss_File of smaps_rollup.
func parseSmapsRollup(b []byte) (memSample, error) {
	var m memSample
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "Rss":
			dst = &m.RSS
		case "Pss_Anon":
			dst = &m.Anon
		case "Pss_File":
			dst = &m.File
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return memSample{}, fmt.Errorf("smaps_rollup: odd %s line %q", name, line)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memSample{}, fmt.Errorf("smaps_rollup: %s: %v", name, err)
		}
		*dst = v
		found++
	}
	if found != 3 {
		return memSample{}, errors.New("smaps_rollup: Rss, Pss_Anon or Pss_File missing (kernel older than 5.0?)")
	}
	return m, nil
}

func readSmapsRollup(pid int) (memSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memSample{}, err
	}
	return parseSmapsRollup(b)
}

// demoIdle is one start of `serve --demo`: exec to ready and the memory
// after idle with no traffic.
type demoIdle struct {
	ReadyMs float64   `json:"ready_ms"`
	Mem     memSample `json:"mem"`
}

// measureDemoIdle starts `gatehouse serve --demo` with the data dir data
// (fresh: the first start; again: a restart), waits until its admin
// listener answers /readyz (the gateway is ready then), lets it idle for
// idle without traffic, reads its memory and stops it.
func measureDemoIdle(ctx context.Context, procs *procSet, gatehouse, data, name string, idle time.Duration) (demoIdle, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return demoIdle{}, err
		}
		addrs[i] = a
	}
	p, err := procs.startEnv(name, []string{"GATEHOUSE_ADMIN_TOKEN=" + benchAdminToken},
		gatehouse, "serve", "--demo", "--data", data,
		"--listen", addrs[0], "--portal-listen", addrs[1], "--admin-listen", addrs[2], "--log-level", "warn")
	if err != nil {
		return demoIdle{}, err
	}
	defer p.stop(5 * time.Second)
	d, err := waitReadyFunc(ctx, p, 60*time.Second, http.StatusOK, func() (int, error) {
		st, _, err := get(ctx, "http://"+addrs[2]+"/readyz", "")
		return st, err
	})
	if err != nil {
		return demoIdle{}, err
	}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return demoIdle{}, ctx.Err()
	}
	m, err := readSmapsRollup(p.Pid())
	if err != nil {
		return demoIdle{}, fmt.Errorf("%s: %w", name, err)
	}
	return demoIdle{ReadyMs: ms(d), Mem: m}, nil
}

// startFigures are one binary's samples over the rounds.
type startFigures struct {
	bin                            string
	cold, warm, demoCold, demoWarm []float64
	rssCold, rssWarm               []demoIdle
}

func runStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	gatehouse := fs.String("gatehouse", "bin/gatehouse", "gatehouse binary (make build)")
	before := fs.String("before", "", "a second gatehouse binary (the one before a change), measured in the same rounds, interleaved")
	rounds := fs.Int("rounds", 3, "rounds; each starts the 4-policy gateway cold and warm and the demo cold and warm")
	idle := fs.Duration("idle", 5*time.Second, "how long the demo idles before its memory is read")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	bins := []string{*gatehouse}
	if *before != "" {
		bins = []string{*before, *gatehouse}
	}
	for _, b := range bins {
		if _, err := os.Stat(b); err != nil {
			return usagef("%s: %v (make build)", b, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	tmp, err := os.MkdirTemp("", "benchload-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Not pinned: measured as users start the gateway.
	procs := &procSet{dir: tmp}
	defer procs.stopAll()

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	backend, err := procs.start(nameBackend, self, "backend", "-listen", addr)
	if err != nil {
		return err
	}
	backendURL := "http://" + addr
	if _, err := waitReady(ctx, backend, backendURL+"/", 10*time.Second); err != nil {
		return err
	}
	fmt.Printf("benchload start: %s, %d round(s), load average %s\n", strings.Join(bins, " vs "), *rounds, loadAvg())
	figs := make([]*startFigures, len(bins))
	for i, b := range bins {
		figs[i] = &startFigures{bin: b}
	}
	for r := 1; r <= *rounds; r++ {
		// Interleaved: in odd rounds the first binary starts first, in
		// even rounds the last, so neither always meets the same load.
		order := make([]int, len(bins))
		for i := range order {
			order[i] = i
			if r%2 == 0 {
				order[i] = len(bins) - 1 - i
			}
		}
		for _, bi := range order {
			f := figs[bi]
			dir := filepath.Join(tmp, fmt.Sprintf("round%d-bin%d", r, bi))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := measureStartRound(ctx, procs, f, dir, backendURL, *idle); err != nil {
				return err
			}
			n := len(f.cold) - 1
			fmt.Printf("round %d, %s: 4-policy gateway cold %.0f ms, warm %.0f ms; demo cold %.0f ms (idle RSS %s), warm %.0f ms (idle RSS %s); load %s\n",
				r, f.bin, f.cold[n], f.warm[n], f.demoCold[n], fmtMem(f.rssCold[n].Mem), f.demoWarm[n], fmtMem(f.rssWarm[n].Mem), loadAvg())
		}
	}
	for _, f := range figs {
		fmt.Printf("\n%s, medians of %d round(s):\n", f.bin, *rounds)
		fmt.Printf("start to ready (exec → first 200 through /bench, 4 policies): cold cache %.0f ms, warm cache %.0f ms\n", medianOf(f.cold), medianOf(f.warm))
		fmt.Printf("serve --demo, exec → /readyz 200: first start %.0f ms, restart %.0f ms\n", medianOf(f.demoCold), medianOf(f.demoWarm))
		fmt.Printf("serve --demo idle RSS after %v: first start %s; restart %s\n", *idle, fmtMem(medianMem(f.rssCold)), fmtMem(medianMem(f.rssWarm)))
	}
	fmt.Printf("load average: %s\n", loadAvg())
	return nil
}

// measureStartRound starts f's binary as the 4-policy gateway on a fresh
// data dir under dir (cold), again (warm), then serve --demo twice.
func measureStartRound(ctx context.Context, procs *procSet, f *startFigures, dir, backendURL string, idle time.Duration) error {
	for i := 0; i < 2; i++ {
		p, url, err := procs.startGateway(f.bin, dir, "ready", 4, backendURL, false)
		if err != nil {
			return err
		}
		d, err := waitReady(ctx, p, url, 60*time.Second)
		p.stop(5 * time.Second)
		if err != nil {
			return err
		}
		if i == 0 {
			f.cold = append(f.cold, ms(d))
		} else {
			f.warm = append(f.warm, ms(d))
		}
	}
	data := filepath.Join(dir, "demo-data")
	for i := 0; i < 2; i++ {
		s, err := measureDemoIdle(ctx, procs, f.bin, data, "demo", idle)
		if err != nil {
			return err
		}
		if i == 0 {
			f.demoCold, f.rssCold = append(f.demoCold, s.ReadyMs), append(f.rssCold, s)
		} else {
			f.demoWarm, f.rssWarm = append(f.demoWarm, s.ReadyMs), append(f.rssWarm, s)
		}
	}
	return nil
}

// fmtMem is "77.5 MiB (anon 47.6, file 28.6)".
func fmtMem(m memSample) string {
	return fmt.Sprintf("%.1f MiB (anon %.1f, file %.1f)", float64(m.RSS)/1024, float64(m.Anon)/1024, float64(m.File)/1024)
}

// medianMem is the sample of median RSS.
func medianMem(s []demoIdle) memSample {
	if len(s) == 0 {
		return memSample{}
	}
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b demoIdle) int { return int(a.Mem.RSS - b.Mem.RSS) })
	return c[len(c)/2].Mem
}

// medianOf is the median of xs (the upper one of an even count).
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	c := slices.Clone(xs)
	slices.Sort(c)
	return c[len(c)/2]
}
