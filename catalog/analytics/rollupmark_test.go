package analytics

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// sumCalls is the calls of every row of a rollup table.
func sumCalls(t testing.TB, path, table string) int64 {
	t.Helper()
	db, err := sql.Open(driverName, dsn(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT data FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var a agg
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		if err := a.decodeAdd(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return a.calls
}

// levelSums is the calls of the requests, minute, hour and day tables.
func levelSums(t testing.TB, path string) [4]int64 {
	t.Helper()
	return [4]int64{countRows(t, path, "requests", ""), sumCalls(t, path, "rollup_minute"), sumCalls(t, path, "rollup_hour"), sumCalls(t, path, "rollup_day")}
}

// testClock is a settable clock for the writer's minutes.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func waitWritten(t *testing.T, w *Writer, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.Stats().Written < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records written", w.Stats().Written, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// clockedWriter returns a clock set to t0 and a function opening a writer
// of path on it (batches of batch records, 0: the default; a tick every
// 5 ms; no pruning).
func clockedWriter(t *testing.T, path string, t0 time.Time, batch int) (*testClock, func() *Writer) {
	clk := &testClock{}
	clk.set(t0)
	return clk, func() *Writer {
		t.Helper()
		w, err := openWriterClock(WriterOptions{Path: path, BatchSize: batch, FlushInterval: 5 * time.Millisecond, RetentionDays: 100000}, time.Hour, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
}

// waitMovedUp waits for the writer's tick to move the pending minutes up,
// then checks that every level counts n calls.
func waitMovedUp(t *testing.T, path string, n int64, what string) {
	t.Helper()
	want := [4]int64{n, n, n, n}
	for deadline := time.Now().Add(10 * time.Second); levelSums(t, path) != want; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v, want %v", what, levelSums(t, path), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHourDayRollupsOncePerMinute: a minute's records go up into the hour
// and day rollups once the clock has passed the minute, not with every
// batch; queries see them all along (from the minute rows); late records
// go up with their batch; a stop leaves the pending minutes in the minute
// rows only, and the next open moves them up exactly once.
func TestHourDayRollupsOncePerMinute(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	t0 := time.Date(2026, 3, 1, 10, 0, 10, 0, time.UTC)
	clk, open := clockedWriter(t, path, t0, 64)
	w := open()
	if got, want := w.markSeen.Load(), t0.Truncate(time.Minute).Unix(); got != want {
		t.Fatalf("a new database's mark is %d, want the current minute %d", got, want)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	logN := func(n int, at time.Time, from int) {
		for i := range n {
			r := genRecord(rng, at.Add(time.Duration(i)*time.Millisecond), from+i)
			r.Subscription = "sub-" + strconv.Itoa(i%50)
			if !w.Log(&r) {
				t.Fatal("dropped")
			}
		}
	}
	total := func(from, to time.Time, bucket string) int64 {
		t.Helper()
		rows, err := w.Query(context.Background(), Query{From: from, To: to, Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rows {
			n += r.Calls
		}
		return n
	}

	// 10:01, the mark's minute: 500 records in several batches.
	clk.set(t0.Add(time.Minute))
	min1 := time.Date(2026, 3, 1, 10, 1, 0, 0, time.UTC)
	logN(300, min1, 0)
	waitWritten(t, w, 300)
	logN(200, min1.Add(20*time.Second), 300)
	waitWritten(t, w, 500)
	if s := levelSums(t, path); s != [4]int64{500, 500, 0, 0} {
		t.Fatalf("requests/minute/hour/day calls %v; want the hour and day rows untouched while the minute lasts", s)
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, b := range []string{"", "minute", "hour", "day"} {
		if n := total(day, day.Add(48*time.Hour), b); n != 500 {
			t.Errorf("query bucketed by %q over two days sees %d calls, want 500", b, n)
		}
	}

	// The clock passes the minute: the next tick moves it up.
	clk.set(t0.Add(2 * time.Minute))
	waitMovedUp(t, path, 500, "after the minute")
	// A late record (a minute before the mark) goes up with its batch.
	logN(1, min1.Add(30*time.Second), 500)
	waitWritten(t, w, 501)
	if s := levelSums(t, path); s != [4]int64{501, 501, 501, 501} {
		t.Fatalf("after a late record: %v", s)
	}
	// Records of 10:02 pending at a stop stay in the minute rows only…
	min2 := min1.Add(time.Minute)
	logN(40, min2.Add(10*time.Second), 501)
	waitWritten(t, w, 541)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := levelSums(t, path); s != [4]int64{541, 541, 501, 501} {
		t.Fatalf("after a stop: %v", s)
	}
	// reopen opens the writer at a time, checks every level and a query,
	// and closes it.
	reopen := func(at time.Time, want [4]int64, what string) {
		t.Helper()
		clk.set(at)
		w = open()
		if s := levelSums(t, path); s != want {
			t.Fatalf("%s: %v, want %v", what, s, want)
		}
		if n := total(day, day.Add(48*time.Hour), "hour"); n != want[0] {
			t.Errorf("%s: query %d calls, want %d", what, n, want[0])
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// …and stay pending when the writer opens again within their minute
	// (queries still see them)…
	reopen(t0.Add(2*time.Minute+20*time.Second), [4]int64{541, 541, 501, 501}, "reopened within the minute")
	// …and go up, once, when it opens after it.
	reopen(t0.Add(3*time.Minute+5*time.Second), [4]int64{541, 541, 541, 541}, "reopened after the minute")
	reopen(t0.Add(3*time.Minute+5*time.Second), [4]int64{541, 541, 541, 541}, "reopened again")
}

// TestRollupMarkUpgrade: a database written by a version without the mark
// (its hour and day rows already count every minute row) gets a mark past
// its last minute row, so nothing is counted twice, and what comes next
// goes up as usual.
func TestRollupMarkUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	t0 := time.Date(2026, 3, 1, 10, 0, 10, 0, time.UTC)
	clk, open := clockedWriter(t, path, t0, 0)
	w := open()
	rng := rand.New(rand.NewPCG(31, 32))
	for i := range 100 {
		r := genRecord(rng, t0.Add(time.Duration(i)*time.Millisecond), i)
		w.Log(&r)
	}
	waitWritten(t, w, 100)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(time.Minute)) // moves 10:00 up
	w = open()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// As the previous version left it: every level complete, no mark.
	db, err := sql.Open(driverName, dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE rollup_mark`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s := levelSums(t, path); s != [4]int64{100, 100, 100, 100} {
		t.Fatalf("before the upgrade: %v", s)
	}
	clk.set(t0.Add(5 * time.Second)) // within the minute of its last rows
	w = open()
	if s := levelSums(t, path); s != [4]int64{100, 100, 100, 100} {
		t.Fatalf("after opening the old database: %v (counted twice?)", s)
	}
	for i := range 10 {
		r := genRecord(rng, t0.Add(20*time.Second), 100+i)
		w.Log(&r)
	}
	waitWritten(t, w, 10)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(3 * time.Minute))
	w = open()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := levelSums(t, path); s != [4]int64{110, 110, 110, 110} {
		t.Fatalf("after more records and a later open: %v", s)
	}
}

// TestRollupMarkClockSteps: the clock stepping back (NTP) never moves the
// mark back, and records older than the mark go up with their batch; a
// step forward moves every pending minute up. Every level counts every
// row throughout, once everything has passed the mark.
func TestRollupMarkClockSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	clk := &testClock{}
	t0 := time.Date(2026, 3, 1, 10, 30, 10, 0, time.UTC)
	clk.set(t0)
	w, err := openWriterClock(WriterOptions{Path: path, FlushInterval: 5 * time.Millisecond, RetentionDays: 100000}, time.Hour, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	rng := rand.New(rand.NewPCG(41, 42))
	n := int64(0)
	logAt := func(at time.Time, k int) {
		for i := range k {
			r := genRecord(rng, at.Add(time.Duration(i)*time.Millisecond), int(n)+i)
			w.Log(&r)
		}
		n += int64(k)
		waitWritten(t, w, n)
	}
	logAt(t0, 50) // 10:30, pending
	mark := w.markSeen.Load()
	clk.set(t0.Add(-5 * time.Minute)) // a step back
	logAt(t0.Add(-5*time.Minute), 30) // 10:25: older than the mark, goes up now
	if got := w.markSeen.Load(); got != mark {
		t.Fatalf("the mark moved from %d to %d when the clock stepped back", mark, got)
	}
	if s := levelSums(t, path); s != [4]int64{80, 80, 30, 30} {
		t.Fatalf("after the step back: %v", s)
	}
	clk.set(t0.Add(3 * time.Hour)) // a step forward: everything pending goes up
	waitMovedUp(t, path, 80, "after the step forward")
	rows, err := w.Query(context.Background(), Query{From: t0.Add(-time.Hour), To: t0.Add(4 * time.Hour), Bucket: "hour"})
	if err != nil {
		t.Fatal(err)
	}
	var calls int64
	for _, r := range rows {
		calls += r.Calls
	}
	if calls != 80 {
		t.Fatalf("query: %d calls, want 80", calls)
	}
}
