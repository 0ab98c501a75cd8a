package main

import (
	"os"
	"testing"
)

// Real /proc/PID/stat lines from this machine class.
const (
	// the benchmark backend after a wrk run: utime 78, stime 107
	statBackend = "32044 (benchload) S 1 32041 25729 0 -1 4194560 1954 0 0 0 78 107 0 0 20 0 5 0 141272 1600794624 3311 18446744073709551615 4194304 7384096 140735352475504 0 0 0 0 2 2143420157 0 0 0 17 1 0 0 0 0 0 10829824 11146656 300032000 140735352482461 140735352482508 140735352482508 140735352483817 0\n"
	// bash copied to an executable named "we) (ird na", after a busy loop
	statWeirdComm = "3902 (we) (ird na) S 3901 3898 25729 0 -1 4194304 226 0 0 0 185 0 0 0 20 0 1 0 153272 4464640 815 18446744073709551615 93891231776768 93891232566173 140725115884480 0 0 0 65536 6 65536 1 0 0 17 0 0 0 0 0 0 93891232799472 93891232847716 93891883065344 140725115886212 140725115886285 140725115886285 140725115887591 0\n"
)

func TestParseStat(t *testing.T) {
	for name, c := range map[string]struct {
		in   string
		want cpuTicks
	}{
		"plain":                     {statBackend, cpuTicks{78, 107}},
		"comm with spaces and )(":   {statWeirdComm, cpuTicks{185, 0}},
		"comm looks like numbers":   {"7 (1 2 3 4 5 6 7 8 9 10 11 12) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n", cpuTicks{5, 6}},
		"empty comm, no newline":    {"8 () S 1 1 1 0 -1 0 0 0 0 0 11 22 0 0", cpuTicks{11, 22}},
		"large counters (long run)": {"9 (gatehouse) S 1 1 1 0 -1 0 0 0 0 0 123456789012 98765432109 0 0 20", cpuTicks{123456789012, 98765432109}},
	} {
		got, err := parseStat([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, c.want)
		}
		if got.Total() != c.want.User+c.want.System {
			t.Errorf("%s: Total %d", name, got.Total())
		}
	}
}

func TestParseStatRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no paren":       "1 bash S 1 1 1 0 -1 0 0 0 0 0 5 6",
		"truncated":      "1 (bash) S 1 1 1 0 -1 0 0 0 0 0 5",
		"not a number":   "1 (bash) S 1 1 1 0 -1 0 0 0 0 0 x 6",
		"negative stime": "1 (bash) S 1 1 1 0 -1 0 0 0 0 0 5 -6",
	} {
		if got, err := parseStat([]byte(in)); err == nil {
			t.Errorf("%s: parsed as %+v", name, got)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\twe) (ird na\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t    4360 kB\nVmSize:\t    4360 kB\nVmHWM:\t    3280 kB\nVmRSS:\t    3280 kB\nRssAnon:\t     400 kB\n"
	got, err := parseVmRSS([]byte(status))
	if err != nil || got != 3280 {
		t.Fatalf("got %d, %v; want 3280", got, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tkthreadd\nState:\tS (sleeping)\n")); err == nil {
		t.Fatal("kernel thread without VmRSS: no error")
	}
	if _, err := parseVmRSS([]byte("VmRSS:\t 12 MB\n")); err == nil {
		t.Fatal("odd unit: no error")
	}
}

func TestParseSystemStat(t *testing.T) {
	// real /proc/stat head
	in := "cpu  145195 0 26078 130875 635 0 549 142 0 0\ncpu0 72733 0 12794 65964 172 0 103 78 0 0\ncpu1 72462 0 13284 64911 463 0 445 63 0 0\nintr 1 2 3\nctxt 99\n"
	m, err := parseSystemStat([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := (coreTicks{Busy: 72733 + 12794 + 103, Idle: 65964 + 172, Steal: 78}); m["cpu0"] != want {
		t.Fatalf("cpu0 %+v, want %+v", m["cpu0"], want)
	}
	if len(m) != 3 {
		t.Fatalf("%d lines, want cpu, cpu0, cpu1", len(m))
	}
	u := use(coreTicks{Busy: 100, Idle: 100, Steal: 0}, coreTicks{Busy: 175, Idle: 120, Steal: 5})
	if u.Busy != 75 || u.Steal != 5 {
		t.Fatalf("use %+v, want 75%% busy 5%% steal", u)
	}
}

func TestReadSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if kib, err := readRSS(os.Getpid()); err != nil || kib <= 0 {
		t.Fatalf("RSS %d KiB, %v", kib, err)
	}
	if _, err := readSystemCPU(); err != nil {
		t.Fatal(err)
	}
}
