package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// h2loadResult is what the harness takes from one h2load run (nghttp2's
// HTTP/2 load generator, Debian package nghttp2-client).
type h2loadResult struct {
	Requests  int64         `json:"requests"`  // "requests: … done"
	Succeeded int64         `json:"succeeded"` // "… succeeded" (2xx and 3xx)
	Failed    int64         `json:"failed"`    // "… failed": 4xx, 5xx, errored and timeout
	Errored   int64         `json:"errored"`
	Timeout   int64         `json:"timeout"`
	Non2xx    int64         `json:"non_2xx"` // 3xx + 4xx + 5xx of "status codes:"
	Seconds   float64       `json:"seconds"` // "finished in"
	RPS       float64       `json:"req_per_s"`
	Protocol  string        `json:"protocol"`      // "Application protocol:" (h2)
	TLS       string        `json:"tls"`           // "TLS Protocol:" / "Cipher:" / "Server Temp Key:"
	Mean      time.Duration `json:"mean_ns"`       // "time for request:" mean
	P50       time.Duration `json:"p50_ns"`        // from the per-request log (--log-file)
	P99       time.Duration `json:"p99_ns"`        //
	Logged    int64         `json:"logged"`        // requests in the per-request log
	CPU       time.Duration `json:"h2load_cpu_ns"` // h2load's own user+system time
	RawOutput string        `json:"-"`
}

// h2loadArgs builds the h2load command line: one thread (the generator has
// one core), conns connections with up to streams concurrent streams each,
// for d (whole seconds), one -H per header, per-request timings to logFile.
func h2loadArgs(conns, streams int, d time.Duration, headers []string, logFile, url string) []string {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	args := []string{"-t1", "-c" + strconv.Itoa(conns), "-m" + strconv.Itoa(streams), "-D" + strconv.Itoa(secs)}
	for _, h := range headers {
		if h != "" {
			args = append(args, "-H", h)
		}
	}
	if logFile != "" {
		args = append(args, "--log-file="+logFile)
	}
	return append(args, url)
}

// runH2load runs h2load (pinned to the generator core when pin is set)
// against url and parses its output and its per-request log.
func runH2load(ctx context.Context, pin bool, conns, streams int, d time.Duration, headers []string, logDir, url string) (h2loadResult, error) {
	logf, err := os.CreateTemp(logDir, "h2load-*.log")
	if err != nil {
		return h2loadResult{}, err
	}
	logPath := logf.Name()
	logf.Close()
	defer os.Remove(logPath)
	argv := append([]string{"h2load"}, h2loadArgs(conns, streams, d, headers, logPath, url)...)
	if pin {
		argv = append([]string{"taskset", "-c", generatorCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return h2loadResult{RawOutput: string(out)}, fmt.Errorf("h2load: %v\n%s", err, out)
	}
	res, err := parseH2load(string(out))
	if err != nil {
		return res, fmt.Errorf("%v\n--- h2load output ---\n%s", err, out)
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	lf, err := os.Open(logPath)
	if err != nil {
		return res, err
	}
	defer lf.Close()
	lat, err := parseH2loadLog(lf)
	if err != nil {
		return res, err
	}
	res.Logged = int64(len(lat))
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
	return res, nil
}

// parseH2load parses the summary h2load 1.x prints. It refuses output in
// which no request was done or the protocol negotiated was not h2 (a
// server without ALPN h2 would otherwise be measured over HTTP/1.1).
func parseH2load(out string) (h2loadResult, error) {
	r := h2loadResult{RawOutput: out}
	var haveFinished, haveRequests bool
	var tls []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "finished in "):
			// "finished in 2.00s, 31190.50 req/s, 5.77MB/s"
			f := strings.Split(strings.TrimPrefix(line, "finished in "), ",")
			if len(f) < 2 {
				return r, fmt.Errorf("h2load: odd line %q", line)
			}
			d, err := parseWrkTime(strings.TrimSpace(f[0]))
			if err != nil {
				return r, fmt.Errorf("h2load: %q: %v", line, err)
			}
			rps, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(f[1]), " req/s"), 64)
			if err != nil {
				return r, fmt.Errorf("h2load: %q: %v", line, err)
			}
			r.Seconds, r.RPS, haveFinished = math.Round(d.Seconds()*1e6)/1e6, rps, true
		case strings.HasPrefix(line, "requests: "):
			// "requests: 62381 total, 62413 started, 62381 done, 62381 succeeded, 0 failed, 0 errored, 0 timeout"
			for _, part := range strings.Split(strings.TrimPrefix(line, "requests: "), ",") {
				f := strings.Fields(part)
				if len(f) != 2 {
					return r, fmt.Errorf("h2load: odd requests line %q", line)
				}
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return r, fmt.Errorf("h2load: requests line %q: %v", line, err)
				}
				switch f[1] {
				case "done":
					r.Requests, haveRequests = n, true
				case "succeeded":
					r.Succeeded = n
				case "failed":
					r.Failed = n
				case "errored":
					r.Errored = n
				case "timeout":
					r.Timeout = n
				}
			}
		case strings.HasPrefix(line, "status codes: "):
			// "status codes: 62381 2xx, 0 3xx, 0 4xx, 0 5xx"
			for _, part := range strings.Split(strings.TrimPrefix(line, "status codes: "), ",") {
				f := strings.Fields(part)
				if len(f) != 2 {
					return r, fmt.Errorf("h2load: odd status line %q", line)
				}
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return r, fmt.Errorf("h2load: status line %q: %v", line, err)
				}
				if f[1] != "2xx" {
					r.Non2xx += n
				}
			}
		case strings.HasPrefix(line, "Application protocol:"):
			r.Protocol = strings.TrimSpace(strings.TrimPrefix(line, "Application protocol:"))
		case strings.HasPrefix(line, "TLS Protocol:"), strings.HasPrefix(line, "Cipher:"), strings.HasPrefix(line, "Server Temp Key:"):
			tls = append(tls, line)
		case strings.HasPrefix(line, "time for request:"):
			// "time for request:      166us     23.25ms       995us       535us    92.58%"
			f := strings.Fields(strings.TrimPrefix(line, "time for request:"))
			if len(f) != 5 {
				return r, fmt.Errorf("h2load: odd line %q", line)
			}
			d, err := parseWrkTime(f[2])
			if err != nil {
				return r, fmt.Errorf("h2load: %q: %v", line, err)
			}
			r.Mean = d
		}
	}
	r.TLS = strings.Join(tls, "; ")
	switch {
	case !haveFinished || !haveRequests:
		return r, errors.New("h2load: no \"finished in\" or \"requests:\" line in output")
	case r.Requests == 0:
		return r, errors.New("h2load: no request done (server down, or every connection failed?)")
	case r.Protocol != "h2":
		return r, fmt.Errorf("h2load: application protocol %q, want h2 (does the server offer ALPN h2?)", r.Protocol)
	}
	return r, nil
}

// parseH2loadLog reads h2load's --log-file: one line per request, three
// tab-separated columns (start time in µs since the epoch, HTTP status,
// µs until the end of the response). It returns the durations sorted.
// A line of another shape is an error: the file is h2load's and a change
// of its format must not pass unnoticed.
func parseH2loadLog(rd io.Reader) ([]time.Duration, error) {
	var out []time.Duration
	sc := bufio.NewScanner(rd)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("h2load log line %d: %d columns, want 3: %q", n, len(f), line)
		}
		us, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || us < 0 {
			return nil, fmt.Errorf("h2load log line %d: bad duration %q", n, f[2])
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// percentile returns the p-th percentile (nearest rank) of sorted, or 0
// for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// h2loadVersion returns h2load's version line ("h2load nghttp2/1.52.0").
func h2loadVersion() string {
	out, _ := exec.Command("h2load", "--version").CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "h2load (version unknown)"
	}
	return line
}
