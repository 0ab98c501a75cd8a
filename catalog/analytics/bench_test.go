package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The query benchmark runs over a fixture of rollups equivalent to 10
// million calls spread over 30 days (about 231 a minute), built once and
// cached under os.TempDir() (the name carries fixtureVersion: bump it when
// the schema or the generator changes). The fixture holds the minute and
// hour and day rollups the Writer would have produced for those calls, computed
// with the Writer's own aggregation code from 10M synthetic records, but
// not the 10M raw rows (queries never read them).
const (
	fixtureVersion = 3
	fixtureCalls   = 10_000_000
	fixtureDays    = 30
)

// fixtureEnd is the end of the fixture's range (fixed, so the cached file
// stays valid).
var fixtureEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// fixture dimensions: 20 APIs × 5 operations, 100 subscriptions (each
// with its product and user); traffic per (api, operation, subscription)
// follows a Zipf law, so a few combinations carry most calls.
const (
	fxAPIs = 20
	fxOps  = 5
	fxSubs = 100
)

func fxDims(combo int) (api, op, prod, sub, user string) {
	a := combo % fxAPIs
	o := (combo / fxAPIs) % fxOps
	s := combo / (fxAPIs * fxOps)
	return fmt.Sprintf("api-%02d", a), fmt.Sprintf("op-%d", o), fmt.Sprintf("product-%d", s%4),
		fmt.Sprintf("sub-%03d", s), fmt.Sprintf("user-%02d", s%60)
}

// buildFixture writes rollups for calls calls over days days ending at
// end into a new database at path.
func buildFixture(path string, calls int64, days int, end time.Time) error {
	w, r, err := openDB(path)
	if err != nil {
		return err
	}
	r.Close()
	defer w.Close()
	ctx := context.Background()
	for _, p := range []string{"PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"} {
		if _, err := w.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(42, uint64(calls)))
	zipf := rand.NewZipf(rand.New(rand.NewPCG(43, 44)), 1.1, 4, fxAPIs*fxOps*fxSubs-1)
	minutes := int64(days) * 24 * 60
	start := end.Add(-time.Duration(minutes) * time.Minute)
	var done int64
	hour := map[rollupKey]*agg{}
	day := map[rollupKey]*agg{}
	var tx *sql.Tx
	var insMin, insHour, insDay *sql.Stmt
	buf := make([]byte, 0, 128)
	for m := range minutes {
		if m%60 == 0 {
			if tx != nil {
				if err := flushHour(ctx, insHour, hour, &buf); err != nil {
					return err
				}
				if m%1440 == 0 {
					if err := flushHour(ctx, insDay, day, &buf); err != nil {
						return err
					}
				}
				if err := tx.Commit(); err != nil {
					return err
				}
			}
			if tx, err = w.BeginTx(ctx, nil); err != nil {
				return err
			}
			if insMin, err = tx.PrepareContext(ctx, upsertRollup("rollup_minute")); err != nil {
				return err
			}
			if insHour, err = tx.PrepareContext(ctx, upsertRollup("rollup_hour")); err != nil {
				return err
			}
			if insDay, err = tx.PrepareContext(ctx, upsertRollup("rollup_day")); err != nil {
				return err
			}
		}
		t := start.Add(time.Duration(m) * time.Minute)
		n := (calls*(m+1))/minutes - done
		done += n
		minute := map[rollupKey]*agg{}
		var rec Record
		for range n {
			rec.API, rec.Operation, rec.Product, rec.Subscription, rec.User = fxDims(int(zipf.Uint64()))
			rec.Time = t
			// Log-normal latency around 20ms.
			rec.Total = time.Duration(math.Exp(math.Log(20e6) + rng.NormFloat64()))
			rec.Status = 200
			switch x := rng.IntN(100); {
			case x < 3:
				rec.Status = 500
			case x < 10:
				rec.Status = 404
			}
			rec.BytesIn, rec.BytesOut = int64(rng.IntN(2000)), int64(rng.IntN(20000))
			rec.CacheHit = rng.IntN(5) == 0
			for _, x := range []struct {
				m map[rollupKey]*agg
				b int64
			}{{minute, t.Unix()}, {hour, t.Unix() / 3600 * 3600}, {day, t.Unix() / 86400 * 86400}} {
				k := keyOf(&rec, x.b)
				a := x.m[k]
				if a == nil {
					a = &agg{}
					x.m[k] = a
				}
				a.add(&rec)
			}
		}
		if err := flushHour(ctx, insMin, minute, &buf); err != nil {
			return err
		}
	}
	if err := flushHour(ctx, insHour, hour, &buf); err != nil {
		return err
	}
	if err := flushHour(ctx, insDay, day, &buf); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func flushHour(ctx context.Context, st *sql.Stmt, m map[rollupKey]*agg, buf *[]byte) error {
	for k, a := range m {
		*buf = a.encode((*buf)[:0])
		if _, err := st.ExecContext(ctx, k.bucket, k.api, k.operation, k.product, k.subscription, k.user, *buf); err != nil {
			return err
		}
		delete(m, k)
	}
	return nil
}

// cachedFixture returns the path of the 10M-call fixture, building it
// when missing.
func cachedFixture(b *testing.B) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("gatehouse-analytics-fixture-v%d-%d.db", fixtureVersion, fixtureCalls))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + s)
	}
	t0 := time.Now()
	b.Logf("building the fixture %s (once)…", path)
	if err := buildFixture(tmp, fixtureCalls, fixtureDays, fixtureEnd); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(tmp + s)
	}
	b.Logf("fixture built in %v", time.Since(t0))
	return path
}

// TestFixtureBuilder checks the benchmark's fixture builder on a tiny
// fixture: its rollups add up to the calls it generated.
func TestFixtureBuilder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fx.db")
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := buildFixture(path, 10_000, 2, end); err != nil {
		t.Fatal(err)
	}
	w, err := openWriter(WriterOptions{Path: path, RetentionDays: 100000}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	for _, q := range []Query{
		{From: end.Add(-48 * time.Hour), To: end},
		{From: end.Add(-48*time.Hour + 7*time.Minute), To: end.Add(time.Hour), GroupBy: []string{"api"}, Bucket: "day"},
	} {
		rows, err := w.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var calls int64
		for _, r := range rows {
			calls += r.Calls
		}
		want := int64(10_000)
		if q.From.Minute() == 7 {
			want -= 10_000 * 7 / (48 * 60) // the first 7 minutes (≈ evenly spread)
		}
		if d := calls - want; d < -2 || d > 2 {
			t.Errorf("%+v: %d calls, want %d", q, calls, want)
		}
	}
}

// BenchmarkAnalyticsQuery measures queries by API over the cached 10M-call
// fixture: one day (target < 200ms) and 30 days (target < 1s).
func BenchmarkAnalyticsQuery(b *testing.B) {
	path := cachedFixture(b)
	w, err := openWriter(WriterOptions{Path: path, RetentionDays: 100000}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	ctx := context.Background()
	cases := []struct {
		name string
		q    Query
	}{
		{"1day-by-api", Query{From: fixtureEnd.Add(-24 * time.Hour), To: fixtureEnd, GroupBy: []string{"api"}}},
		{"1day-unaligned-by-api", Query{From: fixtureEnd.Add(-24*time.Hour - 30*time.Minute), To: fixtureEnd.Add(-30 * time.Minute), GroupBy: []string{"api"}}},
		{"1day-minute-unaligned-by-api", Query{From: fixtureEnd.Add(-24*time.Hour - 17*time.Minute - 12*time.Second), To: fixtureEnd.Add(-17*time.Minute - 12*time.Second), GroupBy: []string{"api"}}},
		{"1day-by-api-hourly", Query{From: fixtureEnd.Add(-24 * time.Hour), To: fixtureEnd, GroupBy: []string{"api"}, Bucket: "hour"}},
		{"30days-by-api", Query{From: fixtureEnd.Add(-30 * 24 * time.Hour), To: fixtureEnd, GroupBy: []string{"api"}}},
		{"30days-unaligned-by-api", Query{From: fixtureEnd.Add(-30*24*time.Hour - 17*time.Minute - 12*time.Second), To: fixtureEnd.Add(-17*time.Minute - 12*time.Second), GroupBy: []string{"api"}}},
		{"30days-by-api-operation", Query{From: fixtureEnd.Add(-30 * 24 * time.Hour), To: fixtureEnd, GroupBy: []string{"api", "operation"}}},
		{"30days-by-api-daily", Query{From: fixtureEnd.Add(-30 * 24 * time.Hour), To: fixtureEnd, GroupBy: []string{"api"}, Bucket: "day"}},
		{"30days-one-subscription-daily", Query{From: fixtureEnd.Add(-30 * 24 * time.Hour), To: fixtureEnd, Subscription: "sub-007", Bucket: "day"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var calls int64
			for b.Loop() {
				rows, err := w.Query(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				calls = 0
				for _, r := range rows {
					calls += r.Calls
				}
			}
			b.ReportMetric(float64(calls), "calls")
		})
	}
}

// BenchmarkWriterThroughput measures how many records per second the
// writer commits (raw rows and the three rollups), logging with a queue
// large enough that nothing is dropped.
func BenchmarkWriterThroughput(b *testing.B) {
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db"), QueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	now := time.Now()
	recs := make([]Record, 4096)
	for i := range recs {
		recs[i] = genRecord(rng, now.Add(time.Duration(i)*time.Millisecond), i)
	}
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		for !w.Log(&recs[i%len(recs)]) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "records/s")
}

// BenchmarkWriterCPU measures the process CPU time (user + system, from
// getrusage) spent per record logged and committed: Log, the writer
// goroutine (raw rows and the three rollups), the GC. Run it with a fixed
// count, e.g. -benchtime 200000x.
func BenchmarkWriterCPU(b *testing.B) {
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db")})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	now := time.Now()
	recs := make([]Record, 4096)
	for i := range recs {
		recs[i] = genRecord(rng, now.Add(time.Duration(i)*time.Millisecond), i)
	}
	cpu := func() (total, sys time.Duration) {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())
	}
	b.ResetTimer()
	c0, s0 := cpu()
	for i := 0; i < b.N; i++ {
		// The default queue; wait for room rather than drop (one producer).
		for w.q.len() >= w.q.max {
			time.Sleep(100 * time.Microsecond)
		}
		w.Log(&recs[i%len(recs)])
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	c1, s1 := cpu()
	if s := w.Stats(); s.Written != int64(b.N) {
		b.Fatalf("stats %+v, want %d written", s, b.N)
	}
	b.ReportMetric(float64((c1-c0).Microseconds())/float64(b.N), "µs-cpu/record")
	b.ReportMetric(float64((s1-s0).Microseconds())/float64(b.N), "µs-sys/record")
}

// BenchmarkWriterCPUPaced is BenchmarkWriterCPU with a producer that
// yields after every record, as a request goroutine does when it next
// waits on the network: the process CPU per record then includes any
// writer wake-up a record causes. Run it with -cpu 1 (the pinned gateway's
// GOMAXPROCS) and a fixed count, e.g. -benchtime 200000x.
func BenchmarkWriterCPUPaced(b *testing.B) {
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db")})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	now := time.Now()
	recs := make([]Record, 4096)
	for i := range recs {
		recs[i] = genRecord(rng, now.Add(time.Duration(i)*time.Millisecond), i)
	}
	b.ResetTimer()
	ru0, ru1 := feedPaced(b, w, recs)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "µs-cpu/record")
	b.ReportMetric(float64(w.wakeups.Load())/float64(b.N), "wakeups/record")
}

// feedPaced logs b.N records (recs in a cycle) as request goroutines do —
// yielding after each, waiting while the queue is full — then closes w,
// and returns the process's resource usage before and after.
func feedPaced(b *testing.B, w *Writer, recs []Record) (ru0, ru1 syscall.Rusage) {
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for i := 0; i < b.N; i++ {
		for w.q.len() >= w.q.max {
			time.Sleep(100 * time.Microsecond)
		}
		w.Log(&recs[i%len(recs)])
		runtime.Gosched()
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	return ru0, ru1
}
