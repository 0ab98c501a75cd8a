package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The testdata/wrk-*.txt files are real outputs of wrk 4.1.0 (Debian's
// package) run with --latency on this machine class.
func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseWrkSamples(t *testing.T) {
	us, msec := time.Microsecond, time.Millisecond
	cases := []struct {
		file     string
		requests int64
		seconds  float64
		rps      float64
		p50, p99 time.Duration
		non2xx   int64
		sock     socketErrors
	}{
		// microseconds and milliseconds in one distribution
		{"wrk-backend.txt", 124370, 3.01, 41360.71, 609 * us, 6740 * us, 0, socketErrors{}},
		{"wrk-bareproxy.txt", 35226, 3.03, 11643.03, 2270 * us, 10580 * us, 0, socketErrors{}},
		// seconds, with wrk's trailing blanks after the unit
		{"wrk-seconds.txt", 8, 3.00, 2.66, 1240 * msec, 1240 * msec, 0, socketErrors{}},
		{"wrk-non2xx.txt", 92, 1.01, 91.53, 43950 * us, 48020 * us, 92, socketErrors{}},
		// every request timed out: zero latencies, -nan% in thread stats
		{"wrk-timeouts.txt", 6, 2.00, 2.99, 0, 0, 0, socketErrors{Timeout: 6}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r, err := parseWrk(readSample(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != c.requests || r.RPS != c.rps || r.Non2xx != c.non2xx || r.SockErrs != c.sock {
				t.Errorf("got requests %d rps %v non2xx %d sock %+v; want %d %v %d %+v",
					r.Requests, r.RPS, r.Non2xx, r.SockErrs, c.requests, c.rps, c.non2xx, c.sock)
			}
			if d := r.Seconds - c.seconds; d > 1e-9 || d < -1e-9 {
				t.Errorf("seconds = %v, want %v", r.Seconds, c.seconds)
			}
			if absDur(r.P50-c.p50) > time.Nanosecond || absDur(r.P99-c.p99) > time.Nanosecond {
				t.Errorf("p50 %v p99 %v, want %v %v", r.P50, r.P99, c.p50, c.p99)
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestParseWrkAllPercentiles(t *testing.T) {
	r, err := parseWrk(readSample(t, "wrk-backend.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{609 * time.Microsecond, 1360 * time.Microsecond, 2940 * time.Microsecond, 6740 * time.Microsecond}
	got := []time.Duration{r.P50, r.P75, r.P90, r.P99}
	for i := range want {
		if absDur(got[i]-want[i]) > time.Nanosecond {
			t.Fatalf("percentiles %v, want %v", got, want)
		}
	}
}

func TestParseWrkSocketErrorsLine(t *testing.T) {
	// A real bare-proxy sample with a socket-error line spliced in where wrk
	// prints it (after the requests line).
	out := strings.Replace(readSample(t, "wrk-bareproxy.txt"), "read\n",
		"read\n  Socket errors: connect 3, read 12, write 1, timeout 7\n", 1)
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (socketErrors{3, 12, 1, 7}); r.SockErrs != want || r.SockErrs.Total() != 23 {
		t.Fatalf("socket errors %+v, want %+v", r.SockErrs, want)
	}
}

func TestParseWrkRejects(t *testing.T) {
	bare := readSample(t, "wrk-bareproxy.txt")
	noDist := strings.Join(slices.DeleteFunc(strings.Split(bare, "\n"), func(l string) bool {
		return strings.Contains(l, "%") && !strings.Contains(l, "Stdev") && !strings.Contains(l, "Latency ") && !strings.Contains(l, "Req/Sec")
	}), "\n")
	noDist = strings.Replace(noDist, "  Latency Distribution\n", "", 1)
	for name, out := range map[string]string{
		"connection refused": readSample(t, "wrk-connect-errors.txt"),
		"empty":              "",
		"no latency table":   noDist,
		"bad unit":           strings.Replace(bare, "2.27ms", "2.27xs", 1),
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestParseWrkTime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"812.00us": 812 * time.Microsecond,
		"0.00us":   0,
		"1.23ms":   1230 * time.Microsecond,
		"2.00s":    2 * time.Second,
		"1.50m":    90 * time.Second,
		"1.00h":    time.Hour,
	} {
		got, err := parseWrkTime(in)
		if err != nil || absDur(got-want) > time.Nanosecond {
			t.Errorf("parseWrkTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "ms", "-1ms", "1.2.3ms", "5ns"} {
		if _, err := parseWrkTime(in); err == nil {
			t.Errorf("parseWrkTime(%q): no error", in)
		}
	}
}

func TestWrkArgs(t *testing.T) {
	got := wrkArgs(32, 5*time.Second, []string{"K: v", "", "A: b c"}, "http://127.0.0.1:1/")
	want := []string{"-t1", "-c32", "-d5s", "--latency", "-H", "K: v", "-H", "A: b c", "http://127.0.0.1:1/"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
	// wrk takes whole seconds; Go's "1m0s" would not parse.
	if got := wrkArgs(1, time.Minute, nil, "u"); got[2] != "-d60s" {
		t.Fatalf("60s → %q", got[2])
	}
	if got := wrkArgs(1, 300*time.Millisecond, nil, "u"); got[2] != "-d1s" {
		t.Fatalf("300ms → %q", got[2])
	}
}
