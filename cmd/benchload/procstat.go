package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTicks is a process's consumed CPU time from /proc/PID/stat, in clock
// ticks (see clockTicks). The kernel sums all threads of the process,
// including threads that have already exited.
type cpuTicks struct {
	User   uint64 // utime, field 14
	System uint64 // stime, field 15
}

// Total is user plus system time.
func (c cpuTicks) Total() uint64 { return c.User + c.System }

// parseStat extracts utime and stime from the contents of /proc/PID/stat.
//
// The second field (comm) is the executable name in parentheses and may
// itself contain spaces and parentheses, so fields are counted from the last
// ')' in the line: after it come field 3 (state), 4, … .
func parseStat(b []byte) (cpuTicks, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTicks{}, errors.New("stat: no ')' closing comm")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3, so field n is f[n-3].
	const utime, stime = 14 - 3, 15 - 3
	if len(f) <= stime {
		return cpuTicks{}, fmt.Errorf("stat: only %d fields after comm", len(f))
	}
	u, err := strconv.ParseUint(f[utime], 10, 64)
	if err != nil {
		return cpuTicks{}, fmt.Errorf("stat: utime: %v", err)
	}
	s, err := strconv.ParseUint(f[stime], 10, 64)
	if err != nil {
		return cpuTicks{}, fmt.Errorf("stat: stime: %v", err)
	}
	return cpuTicks{User: u, System: s}, nil
}

// readCPU reads the CPU time consumed so far by process pid.
func readCPU(pid int) (cpuTicks, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTicks{}, err
	}
	return parseStat(b)
}

// parseVmRSS returns the VmRSS line of /proc/PID/status in KiB.
func parseVmRSS(b []byte) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status: odd VmRSS line %q", line)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("status: no VmRSS line (kernel thread or zombie?)")
}

// readRSS returns the resident set size of process pid in KiB.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// clockTicks returns the kernel's USER_HZ (`getconf CLK_TCK`), the unit of
// the times in /proc/PID/stat, or 100 when getconf is unavailable.
func clockTicks() (hz int64, guessed bool) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v, false
		}
	}
	return 100, true
}

// coreTicks is one "cpu…" line of /proc/stat, in clock ticks.
type coreTicks struct {
	Busy  uint64 // user+nice+system+irq+softirq (guest time is part of user)
	Idle  uint64 // idle+iowait
	Steal uint64 // taken by the hypervisor
}

// parseSystemStat returns the "cpu" (all CPUs) and "cpuN" lines of
// /proc/stat by name.
func parseSystemStat(b []byte) (map[string]coreTicks, error) {
	out := map[string]coreTicks{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		var v [8]uint64 // user nice system idle iowait irq softirq steal
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/stat %s: %v", f[0], err)
			}
			v[i] = n
		}
		out[f[0]] = coreTicks{Busy: v[0] + v[1] + v[2] + v[5] + v[6], Idle: v[3] + v[4], Steal: v[7]}
	}
	if _, ok := out["cpu"]; !ok {
		return nil, errors.New("/proc/stat: no cpu line")
	}
	return out, nil
}

// readSystemCPU reads /proc/stat.
func readSystemCPU() (map[string]coreTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	return parseSystemStat(b)
}

// coreUse is how a core (or all of them) was used between two readings of
// /proc/stat, in percent of the elapsed ticks.
type coreUse struct {
	Busy  float64 `json:"busy_pct"`
	Steal float64 `json:"steal_pct"`
}

// use computes the core's use between readings a and b.
func use(a, b coreTicks) coreUse {
	total := float64((b.Busy - a.Busy) + (b.Idle - a.Idle) + (b.Steal - a.Steal))
	if total <= 0 {
		return coreUse{}
	}
	return coreUse{Busy: 100 * float64(b.Busy-a.Busy) / total, Steal: 100 * float64(b.Steal-a.Steal) / total}
}

// waitQuiet waits until, over a 300 ms window, the machine is nearly idle
// (less than foreignWarnPct of one core busy: the harness's own servers are
// idle between runs), or until maxWait has passed. It returns how long it
// waited and whether the machine became quiet.
func waitQuiet(ctx context.Context, nproc int, maxWait time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		a, err := readSystemCPU()
		if err != nil {
			return 0, true
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(300 * time.Millisecond):
		}
		b, err := readSystemCPU()
		if err != nil {
			return 0, true
		}
		if use(a["cpu"], b["cpu"]).Busy*float64(nproc) < foreignWarnPct {
			return time.Since(start), true
		}
		if time.Since(start) > maxWait {
			return time.Since(start), false
		}
	}
}

// hostSetup says whether the servers and the load generator can be pinned
// to cores of their own (2 CPUs or more, taskset installed) and how many
// clock ticks a second /proc counts CPU time in, printing a warning for each
// thing it could not have; generator names the load generator in them.
func hostSetup(nproc int, generator string) (pinned bool, ticks int64) {
	pinned = nproc >= 2
	if !pinned {
		fmt.Printf("WARNING: only 1 CPU: not pinning; %s and the servers will compete for it\n", generator)
	} else if _, err := exec.LookPath("taskset"); err != nil {
		fmt.Println("WARNING: taskset not found (util-linux): not pinning")
		pinned = false
	}
	ticks, guessed := clockTicks()
	if guessed {
		fmt.Println("WARNING: getconf CLK_TCK failed: assuming 100 ticks/s")
	}
	return pinned, ticks
}

// harness is what one benchload mode runs in: a context ended by SIGINT or
// SIGTERM, a temporary directory and the child processes started there.
type harness struct {
	ctx   context.Context
	stop  context.CancelFunc
	procs *procSet
	dir   string
	keep  bool
	what  string // what the directory holds, for the "kept" message
}

// startHarness makes the directory (prefix as for os.MkdirTemp) and the
// signal context. Children are stopped by close: on return, on panic
// (deferred calls run before a panic kills the process) and on
// SIGINT/SIGTERM (the context ends, the current step returns); if the
// harness is killed outright, the kernel kills them (Pdeathsig).
func startHarness(prefix string, pin, keep bool, what string) (*harness, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		stop()
		return nil, err
	}
	return &harness{ctx: ctx, stop: stop, procs: &procSet{pin: pin, dir: dir}, dir: dir, keep: keep, what: what}, nil
}

// close stops the children and removes the directory, unless asked to keep
// it or the run failed other than by an interrupt (then it says where it is).
func (h *harness) close(err error) {
	h.procs.stopAll()
	if h.keep || (err != nil && h.ctx.Err() == nil) {
		fmt.Fprintf(os.Stderr, "kept %s (%s)\n", h.dir, h.what)
	} else {
		os.RemoveAll(h.dir)
	}
	h.stop()
}

// runCores is how the cores were used during one measured run, from the
// /proc/stat readings s0 (before) and s1 (after): the server's and the
// generator's core (both "all" when not pinned), and foreignPct, the CPU
// none of ours used (oursTicks: target, backend and generator, in clock
// ticks) in percent of one core.
func runCores(s0, s1 map[string]coreTicks, pinned bool, nproc int, oursTicks float64) (server, generator coreUse, foreignPct float64) {
	sk, gk := "cpu", "cpu"
	if pinned {
		sk, gk = "cpu"+serverCPU, "cpu"+generatorCPU
	}
	all0, all1 := s0["cpu"], s1["cpu"]
	perCore := float64((all1.Busy-all0.Busy)+(all1.Idle-all0.Idle)+(all1.Steal-all0.Steal)) / float64(nproc)
	if perCore > 0 {
		foreignPct = 100 * (float64(all1.Busy-all0.Busy) - oursTicks) / perCore
	}
	return use(s0[sk], s1[sk]), use(s0[gk], s1[gk]), foreignPct
}
