package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestGatewayConfig(t *testing.T) {
	for n, want := range map[int][]string{
		0: {"path: /bench", "backend: http://127.0.0.1:9", "key: " + benchKey},
		1: {"policy: set-header", "X-Bench"},
		4: {"policy: subscription-key", "policy: rate-limit", "calls: 1000000000", "policy: set-header", "outbound:", "counter_key: subscription"},
	} {
		cfg, err := gatewayConfig(n, "http://127.0.0.1:9")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(cfg, w) {
				t.Errorf("%d-policy config lacks %q:\n%s", n, w, cfg)
			}
		}
		if got := strings.Count(cfg, "- policy:"); got != n {
			t.Errorf("%d-policy config has %d policies", n, got)
		}
		if strings.Contains(cfg, "\t") {
			t.Errorf("tab in YAML")
		}
	}
	if _, err := gatewayConfig(2, "x"); err == nil {
		t.Error("2 policies: no error")
	}
}

func TestGatewayCounts(t *testing.T) {
	if got, err := gatewayCounts("0, 4"); err != nil || len(got) != 2 || got[1] != 4 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := gatewayCounts("0,2"); err == nil {
		t.Fatal("2 accepted")
	}
}

// stopAll kills the whole process group, grandchildren included.
func TestProcSetStopsGroup(t *testing.T) {
	s := &procSet{dir: t.TempDir()}
	p, err := s.start("sh", "sh", "-c", "sleep 30 & echo pid=$!; wait")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stopAll)
	var grandchild int
	for deadline := time.Now().Add(5 * time.Second); grandchild == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(p.logPath)
		if i := strings.LastIndex(string(b), "pid="); i >= 0 {
			grandchild, _ = strconv.Atoi(strings.TrimSpace(string(b[i+4:])))
		}
	}
	if grandchild == 0 {
		t.Fatal("no grandchild pid in log")
	}
	start := time.Now()
	s.stopAll()
	if done, _ := p.exited(); !done {
		t.Fatal("child still running")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("stop took %v: SIGTERM did not reach the group", time.Since(start))
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(grandchild) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			break // gone, or dead and waiting to be reaped
		}
		if time.Now().After(deadline) {
			syscall.Kill(grandchild, syscall.SIGKILL)
			t.Fatal("grandchild survived stopAll")
		}
	}
}
