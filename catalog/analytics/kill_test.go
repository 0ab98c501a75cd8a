package analytics

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killChildEnv switches the test binary into the logging child of
// TestKillLossWindow.
const killChildEnv = "GATEHOUSE_ANALYTICS_KILL_CHILD"

// killRate is the child's steady logging rate, records per second.
const killRate = 2000

// TestKillLossWindow logs at a steady rate in a child process, SIGKILLs
// it, and checks that the rows on disk cover everything handed over
// except at most rate × (FlushInterval + margin) records.
func TestKillLossWindow(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "logs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillLossWindow$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var handed int64
	var started time.Time
	for sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "handed ")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			continue
		}
		if started.IsZero() {
			started = time.Now()
		}
		handed = v
		if time.Since(started) > 2*time.Second {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if handed == 0 {
		t.Fatal("the child handed over nothing")
	}
	rows := countRows(t, path, "requests", "")
	window := DefaultFlushInterval + 250*time.Millisecond // flush interval + commit and scheduling margin
	allowed := int64(float64(killRate) * window.Seconds())
	lost := handed - rows
	t.Logf("handed over %d (at least), on disk %d: lost %d = %.0f ms at %d/s (allowed %d = %v)",
		handed, rows, lost, float64(lost)/killRate*1000, killRate, allowed, window)
	if rows < handed-allowed {
		t.Errorf("lost %d records, more than %d", lost, allowed)
	}
	// The rollups are committed with the raw rows.
	if n := countRows(t, path, "rollup_minute", ""); n == 0 && rows > 0 {
		t.Error("no rollups")
	}
	if s := levelSums(t, path); s[0] != s[1] {
		t.Errorf("requests/minute/hour/day calls after the kill %v: the minute rollups differ from the rows", s)
	}
	// An open after the kill's minute moves up the minutes the kill left
	// pending: every level then counts every row, once. (An open within
	// it keeps them pending, and a query reads them from the minutes.)
	later := time.Now().Add(2 * time.Minute)
	w, err := openWriterClock(WriterOptions{Path: path, RetentionDays: 100000}, time.Hour, func() time.Time { return later })
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.Query(context.Background(), Query{From: later.Add(-time.Hour), To: later})
	if err != nil || len(rs) != 1 || rs[0].Calls != rows {
		t.Errorf("query after reopening: %+v %v; want %d calls", rs, err, rows)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := levelSums(t, path); s != [4]int64{rows, rows, rows, rows} {
		t.Errorf("requests/minute/hour/day calls after reopening %v; want %d everywhere", s, rows)
	}
}

// killChild logs killRate records per second until killed, printing the
// number handed over after each step.
func killChild(path string) {
	w, err := OpenWriter(WriterOptions{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	out := bufio.NewWriter(os.Stdout)
	const step = time.Millisecond
	per := killRate / int(time.Second/step)
	start := time.Now()
	var n int64
	for i := 1; ; i++ {
		for range per {
			r := genRecord(rng, time.Now(), int(n))
			if !w.Log(&r) {
				fmt.Fprintln(os.Stderr, "dropped")
			}
			n++
		}
		fmt.Fprintf(out, "handed %d\n", n)
		out.Flush()
		time.Sleep(time.Until(start.Add(time.Duration(i) * step)))
	}
}
