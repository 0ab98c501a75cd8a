package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what the harness takes from one wrk run.
type wrkResult struct {
	Requests  int64         `json:"requests"`    // completed responses
	Seconds   float64       `json:"seconds"`     // wall time wrk reports
	RPS       float64       `json:"req_per_s"`   // "Requests/sec:"
	P50       time.Duration `json:"p50_ns"`      // latency distribution
	P75       time.Duration `json:"p75_ns"`      //
	P90       time.Duration `json:"p90_ns"`      //
	P99       time.Duration `json:"p99_ns"`      //
	Non2xx    int64         `json:"non_2xx_3xx"` // "Non-2xx or 3xx responses:"
	SockErrs  socketErrors  `json:"socket_errors"`
	CPU       time.Duration `json:"wrk_cpu_ns"` // wrk's own user+system time
	RawOutput string        `json:"-"`
}

// socketErrors is wrk's "Socket errors:" line (absent when all are zero).
type socketErrors struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
}

// Total is the sum of all socket errors.
func (s socketErrors) Total() int64 { return s.Connect + s.Read + s.Write + s.Timeout }

// wrkArgs builds the wrk command line: one thread (the generator has one
// core), conns connections, --latency for the percentile table, and one -H
// per header ("Name: value"; empty strings are skipped).
func wrkArgs(conns int, d time.Duration, headers []string, url string) []string {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := []string{"-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s", "--latency"}
	for _, h := range headers {
		if h != "" {
			args = append(args, "-H", h)
		}
	}
	return append(args, url)
}

// runWrk runs wrk (pinned to core 0 when pin is set) and parses its output.
func runWrk(ctx context.Context, pin bool, conns int, d time.Duration, headers []string, url string) (wrkResult, error) {
	argv := append([]string{"wrk"}, wrkArgs(conns, d, headers, url)...)
	if pin {
		argv = append([]string{"taskset", "-c", generatorCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the harness
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{RawOutput: string(out)}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("%v\n--- wrk output ---\n%s", err, out)
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

// parseWrk parses the text wrk 4.x prints with --latency.
func parseWrk(out string) (wrkResult, error) {
	r := wrkResult{RawOutput: out}
	var haveReq, haveRPS, haveDist bool
	inDist := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "Latency Distribution":
			inDist, haveDist = true, true
			continue
		case inDist && strings.Contains(line, "%"):
			f := strings.Fields(line)
			if len(f) != 2 {
				return r, fmt.Errorf("wrk: odd latency line %q", line)
			}
			d, err := parseWrkTime(f[1])
			if err != nil {
				return r, err
			}
			switch f[0] {
			case "50%":
				r.P50 = d
			case "75%":
				r.P75 = d
			case "90%":
				r.P90 = d
			case "99%":
				r.P99 = d
			}
			continue
		}
		inDist = false
		switch {
		case strings.Contains(line, " requests in "):
			// "52000 requests in 2.00s, 7.50MB read"
			f := strings.Fields(line)
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: requests: %v", err)
			}
			d, err := parseWrkTime(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, err
			}
			r.Requests, r.Seconds, haveReq = n, math.Round(d.Seconds()*1e6)/1e6, true
		case strings.HasPrefix(line, "Requests/sec:"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
			if err != nil {
				return r, fmt.Errorf("wrk: Requests/sec: %v", err)
			}
			r.RPS, haveRPS = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: Non-2xx: %v", err)
			}
			r.Non2xx = v
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 12, write 0, timeout 3"
			_, err := fmt.Sscanf(line, "Socket errors: connect %d, read %d, write %d, timeout %d",
				&r.SockErrs.Connect, &r.SockErrs.Read, &r.SockErrs.Write, &r.SockErrs.Timeout)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %v", line, err)
			}
		}
	}
	if !haveReq || !haveRPS {
		return r, errors.New("wrk: no \"requests in\" or \"Requests/sec:\" line in output")
	}
	if !haveDist {
		return r, errors.New("wrk: no latency distribution (was --latency given?)")
	}
	return r, nil
}

// parseWrkTime parses wrk's time format: a decimal number followed by us,
// ms, s, m or h (e.g. "812.00us", "1.23ms", "2.00s", "1.00m").
func parseWrkTime(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{ // longest suffixes first: "ms" and "us" end in "s"
		{"us", time.Microsecond}, {"ms", time.Millisecond},
		{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
	}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("wrk: bad time %q", s)
		}
		return time.Duration(v * float64(u.unit)), nil
	}
	return 0, fmt.Errorf("wrk: time %q has no unit", s)
}

// wrkVersion returns the first line of `wrk -v` (which exits non-zero).
func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if f := strings.Fields(line); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return "wrk (version unknown)"
}
