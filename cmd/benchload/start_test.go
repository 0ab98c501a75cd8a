package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseSmapsRollup(t *testing.T) {
	in := `00400000-7ffd0fbe3000 ---p 00000000 00:00 0                          [rollup]
Rss:               79088 kB
Pss:               77903 kB
Pss_Dirty:         48744 kB
Pss_Anon:          48716 kB
Pss_File:          28880 kB
Pss_Shmem:             0 kB
`
	m, err := parseSmapsRollup([]byte(in))
	if err != nil || m.RSS != 79088 || m.Anon != 48716 || m.File != 28880 {
		t.Fatalf("got %+v, %v", m, err)
	}
	if got := fmtMem(m); got != "77.2 MiB (anon 47.6, file 28.2)" {
		t.Errorf("fmtMem = %q", got)
	}
	for _, bad := range []string{
		strings.Replace(in, "Pss_File:          28880 kB\n", "", 1),
		strings.Replace(in, "79088 kB", "79088 MB", 1),
		strings.Replace(in, "79088", "x", 1),
		"",
	} {
		if m, err := parseSmapsRollup([]byte(bad)); err == nil {
			t.Errorf("accepted %q: %+v", bad, m)
		}
	}
	// This process's own figures parse.
	if _, err := os.Stat("/proc/self/smaps_rollup"); err == nil {
		if m, err := readSmapsRollup(os.Getpid()); err != nil || m.RSS <= 0 || m.Anon <= 0 {
			t.Errorf("own smaps_rollup: %+v %v", m, err)
		}
	}
}
