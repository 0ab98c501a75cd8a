package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

func openTest(t testing.TB, o WriterOptions) *Writer {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "logs.db")
	}
	w, err := OpenWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	return w
}

func closeTest(t testing.TB, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// countRows counts the rows of a table with a plain connection.
func countRows(t testing.TB, path, table, where string, args ...any) int64 {
	t.Helper()
	db, err := sql.Open(driverName, dsn(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM "+table+" "+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	apis   = []string{"echo", "orders", "billing"}
	ops    = []string{"get", "list", "create"}
	prods  = []string{"starter", "unlimited"}
	subs   = []string{"s1", "s2", "s3", "s4"}
	users  = []string{"alice", "bob"}
	status = []int{200, 200, 200, 201, 304, 400, 404, 429, 500, 502}
)

// genRecord makes a pseudo-random record at t.
func genRecord(rng *rand.Rand, t time.Time, i int) Record {
	// Latencies log-uniform from 50µs to 90s, so every bucket is used.
	lat := time.Duration(math.Exp(math.Log(50e3) + rng.Float64()*(math.Log(90e9)-math.Log(50e3))))
	st := status[rng.IntN(len(status))]
	r := Record{
		Time: t, RequestID: fmt.Sprintf("req-%d", i),
		API: apis[rng.IntN(len(apis))], Operation: ops[rng.IntN(len(ops))], Product: prods[rng.IntN(len(prods))],
		Subscription: subs[rng.IntN(len(subs))], User: users[rng.IntN(len(users))],
		ClientIP: "10.0.0.1", Method: "GET", Path: "/items/1", Query: "a=1&key=***",
		Status: st, Total: lat, Backend: lat / 2, Policies: 30 * time.Microsecond,
		BytesIn: int64(rng.IntN(1000)), BytesOut: int64(rng.IntN(10000)), CacheHit: rng.IntN(4) == 0,
	}
	if st != 429 {
		r.BackendStatus = st
	}
	if st == 429 {
		r.PolicyError = "rate limit"
	}
	return r
}

// expect computes a Row directly from records.
func expect(rs []Record) Row {
	var r Row
	var lats []time.Duration
	for _, x := range rs {
		r.Calls++
		if x.Status >= 500 {
			r.Errors5xx++
		} else if x.Status >= 400 {
			r.Errors4xx++
		}
		r.BytesIn += x.BytesIn
		r.BytesOut += x.BytesOut
		if x.CacheHit {
			r.CacheHits++
		}
		lats = append(lats, x.Total)
	}
	slices.Sort(lats)
	pct := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		k := int(math.Ceil(q*float64(len(lats)))) - 1
		return lats[max(k, 0)]
	}
	r.P50, r.P95, r.P99 = pct(0.5), pct(0.95), pct(0.99)
	if r.Calls > 0 {
		r.CacheHitRatio = float64(r.CacheHits) / float64(r.Calls)
	}
	return r
}

func checkRow(t *testing.T, what string, got, want Row) {
	t.Helper()
	if got.Calls != want.Calls || got.Errors4xx != want.Errors4xx || got.Errors5xx != want.Errors5xx ||
		got.BytesIn != want.BytesIn || got.BytesOut != want.BytesOut || got.CacheHits != want.CacheHits ||
		math.Abs(got.CacheHitRatio-want.CacheHitRatio) > 1e-9 {
		t.Errorf("%s: got %+v\nwant %+v", what, got, want)
	}
	for _, p := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", got.P50, want.P50}, {"p95", got.P95, want.P95}, {"p99", got.P99, want.P99}} {
		// The exact percentile must lie in the reported bucket (latencies
		// above 60s are reported as 60s).
		if bucketOf(p.got) != min(bucketOf(p.want), histBounds-1) {
			t.Errorf("%s: %s = %v, exact %v (buckets %d and %d)", what, p.name, p.got, p.want, bucketOf(p.got), bucketOf(p.want))
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	b := BucketBounds()
	if len(b) != 40 || b[0] != 100*time.Microsecond || b[39] != 60*time.Second {
		t.Fatalf("bounds %v", b)
	}
	for i, d := range b {
		if bucketOf(d) != i || (i > 0 && bucketOf(d-1) != i && bucketOf(b[i-1]+1) != i) {
			t.Errorf("bound %d (%v): bucket %d", i, d, bucketOf(d))
		}
		if i > 0 && bucketOf(b[i-1]+1) != i {
			t.Errorf("just above bound %d: bucket %d", i-1, bucketOf(b[i-1]+1))
		}
	}
	if bucketOf(0) != 0 || bucketOf(time.Hour) != 40 {
		t.Error("edges")
	}
	// Against the definition (the first bound ≥ d), over random durations.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		d := time.Duration(math.Exp(rng.Float64() * math.Log(float64(2*time.Minute))))
		want := histBounds
		for i, x := range b {
			if d <= x {
				want = i
				break
			}
		}
		if got := bucketOf(d); got != want {
			t.Fatalf("bucketOf(%v) = %d, want %d", d, got, want)
		}
	}
	var h hist
	for i := range 1000 {
		h.add(time.Duration(i+1) * time.Millisecond)
	}
	var h2 hist
	if err := h2.decodeAdd(h.encode(nil)); err != nil || h2 != h {
		t.Fatalf("round trip: %v", err)
	}
	a := agg{calls: 1000, err4xx: 3, err5xx: 2, bytesIn: 1 << 40, bytesOut: 7, cacheHits: 9, h: h}
	m, err := aggMergeSQL(a.encode(nil), a.encode(nil))
	if err != nil {
		t.Fatal(err)
	}
	var a2 agg
	if err := a2.decodeAdd(m); err != nil {
		t.Fatal(err)
	}
	if a2.h.total() != 2000 || a2.calls != 2000 || a2.bytesIn != 1<<41 || a2.err4xx != 6 || a2.err5xx != 4 || a2.bytesOut != 14 || a2.cacheHits != 18 {
		t.Fatalf("merged %+v", a2)
	}
	if _, err := aggMergeSQL([]byte{0x80}, nil); err == nil {
		t.Error("corrupt blob accepted")
	}
	if q := h.quantile(0.5); bucketOf(q) != bucketOf(500*time.Millisecond) {
		t.Errorf("p50 %v", q)
	}
}

func TestLogAndQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	w := openTest(t, WriterOptions{Path: path, QueueSize: 32768, BatchSize: 300, FlushInterval: 20 * time.Millisecond})
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const n = 20000
	recs := make([]Record, n)
	for i := range recs {
		// Spread over 50 hours (three UTC days), not in time order.
		recs[i] = genRecord(rng, base.Add(time.Duration(rng.Int64N(int64(50*time.Hour)))), i)
		if !w.Log(&recs[i]) {
			// The queue is large enough; a drop is a failure here.
			t.Fatalf("record %d dropped", i)
		}
	}
	closeTest(t, w)
	if s := w.Stats(); s.Written != n || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got := countRows(t, path, "requests", ""); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}

	// Reopen (a restart) and query.
	w = openTest(t, WriterOptions{Path: path})
	ctx := context.Background()

	// Raw rows round-trip.
	got, err := w.Requests(ctx, RequestFilter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	newest := 0
	for i, r := range recs {
		if r.Time.After(recs[newest].Time) {
			newest = i
		}
	}
	if len(got) != 5 || got[0].RequestID != recs[newest].RequestID {
		t.Fatalf("newest rows: %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.After(got[i-1].Time) {
			t.Errorf("not newest first: %v after %v", got[i].Time, got[i-1].Time)
		}
	}
	want := recs[newest]
	want.Time = want.Time.Truncate(time.Microsecond) // stored in microseconds
	want.Total = want.Total.Truncate(time.Microsecond)
	want.Backend = want.Backend.Truncate(time.Microsecond)
	if g := got[0]; !g.Time.Equal(want.Time) || g.Total != want.Total || g.Backend != want.Backend || g.Policies != want.Policies ||
		g.API != want.API || g.Operation != want.Operation || g.Product != want.Product || g.Subscription != want.Subscription ||
		g.User != want.User || g.ClientIP != want.ClientIP || g.Method != want.Method || g.Path != want.Path || g.Query != want.Query ||
		g.Status != want.Status || g.BackendStatus != want.BackendStatus || g.BytesIn != want.BytesIn || g.BytesOut != want.BytesOut ||
		g.CacheHit != want.CacheHit || g.PolicyError != want.PolicyError {
		t.Errorf("row\n got %+v\nwant %+v", g, want)
	}
	bySub, err := w.Requests(ctx, RequestFilter{Subscription: "s2", API: "echo", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wantSub int
	for _, r := range recs {
		if r.Subscription == "s2" && r.API == "echo" {
			wantSub++
		}
	}
	if len(bySub) != min(wantSub, 1000) {
		t.Errorf("s2/echo rows: %d, want %d", len(bySub), min(wantSub, 1000))
	}
	for i, r := range bySub {
		if r.Subscription != "s2" || r.API != "echo" || (i > 0 && r.RequestID == bySub[i-1].RequestID) {
			t.Fatalf("filtered row %+v", r)
		}
	}

	// Rollups equal direct aggregates over the raw records, for ranges
	// aligned to hours and not (the plan mixes hour and minute rollups).
	ranges := []struct{ from, to time.Time }{
		{base, base.Add(50 * time.Hour)},
		{base.Add(17*time.Minute + 20*time.Second), base.Add(3*time.Hour + 5*time.Minute)},
		{base.Add(17*time.Minute + 20*time.Second), base.Add(41*time.Hour + 5*time.Minute)}, // day, hour and minute rollups
		{base.Add(61 * time.Minute), base.Add(62*time.Minute + time.Second)},
	}
	for _, rg := range ranges {
		inRange := func(r Record) bool {
			m := r.Time.Truncate(time.Minute)
			return !m.Before(rg.from.Truncate(time.Minute)) && m.Before(rg.to)
		}
		var all []Record
		byAPI := map[string][]Record{}
		byHourOp := map[string][]Record{}
		for _, r := range recs {
			if inRange(r) {
				all = append(all, r)
				byAPI[r.API] = append(byAPI[r.API], r)
				if r.Product == "starter" {
					k := r.Time.Truncate(time.Hour).Format(time.RFC3339) + "/" + r.Operation
					byHourOp[k] = append(byHourOp[k], r)
				}
			}
		}
		what := fmt.Sprintf("[%s, %s)", rg.from.Format("15:04:05"), rg.to.Format("15:04:05"))
		rows, err := w.Query(ctx, Query{From: rg.from, To: rg.to})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%s total: %d rows", what, len(rows))
		}
		checkRow(t, what+" total", rows[0], expect(all))

		rows, err = w.Query(ctx, Query{From: rg.from, To: rg.to, GroupBy: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(byAPI) {
			t.Fatalf("%s by api: %d rows, want %d", what, len(rows), len(byAPI))
		}
		for _, r := range rows {
			if r.Operation != "" || !r.Bucket.IsZero() {
				t.Errorf("ungrouped fields set: %+v", r)
			}
			checkRow(t, what+" api "+r.API, r, expect(byAPI[r.API]))
		}

		rows, err = w.Query(ctx, Query{From: rg.from, To: rg.to, GroupBy: []string{"operation"}, Bucket: "hour", Product: "starter"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(byHourOp) {
			t.Fatalf("%s by hour, operation: %d rows, want %d", what, len(rows), len(byHourOp))
		}
		for i, r := range rows {
			if i > 0 && r.Bucket.Before(rows[i-1].Bucket) {
				t.Error("rows not ordered by bucket")
			}
			k := r.Bucket.Format(time.RFC3339) + "/" + r.Operation
			checkRow(t, what+" "+k, r, expect(byHourOp[k]))
		}
	}

	// Minute and day buckets add up to the total.
	for _, b := range []string{"minute", "day"} {
		to := base.Add(50 * time.Hour)
		if b == "minute" {
			to = base.Add(48 * time.Hour)
		}
		rows, err := w.Query(ctx, Query{From: base, To: to, Bucket: b, Subscription: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, r := range rows {
			sum += r.Calls
			if r.Bucket.IsZero() {
				t.Error("bucket missing")
			}
		}
		var want int64
		for _, r := range recs {
			if r.Subscription == "s1" && r.Time.Before(to.Truncate(time.Minute)) {
				want++
			}
		}
		if sum != want {
			t.Errorf("bucket %s: %d calls, want %d", b, sum, want)
		}
		if b == "day" && len(rows) != 3 {
			t.Errorf("day rows: %d", len(rows))
		}
	}

	// An empty range answers one zero row.
	rows, err := w.Query(ctx, Query{From: base.Add(-48 * time.Hour), To: base.Add(-47 * time.Hour)})
	if err != nil || len(rows) != 1 || rows[0].Calls != 0 {
		t.Errorf("empty range: %v %+v", err, rows)
	}
}

func TestQueryValidation(t *testing.T) {
	w := openTest(t, WriterOptions{})
	now := time.Now()
	for _, c := range []struct {
		q     Query
		field string
	}{
		{Query{GroupBy: []string{"api", "colour"}}, "groupBy"},
		{Query{GroupBy: []string{"api", "api"}}, "groupBy"},
		{Query{Bucket: "week"}, "bucket"},
		{Query{From: now, To: now.Add(-time.Hour)}, "to"},
		{Query{From: now.Add(-72 * time.Hour), To: now, Bucket: "minute"}, "bucket"},
	} {
		_, err := w.Query(context.Background(), c.q)
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || fe.Path != c.field || !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%+v: %v, want a field error on %s", c.q, err, c.field)
		}
	}
	if _, err := w.Requests(context.Background(), RequestFilter{Limit: -1}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("negative limit: %v", err)
	}
}

func TestOverload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	w := openTest(t, WriterOptions{Path: path, QueueSize: 16, BatchSize: 64, FlushInterval: 5 * time.Millisecond})
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 100000
	now := time.Now()
	durs := make([]time.Duration, n)
	var ok int64
	for i := range n {
		r := genRecord(rng, now, i)
		t0 := time.Now()
		if w.Log(&r) {
			ok++
		}
		durs[i] = time.Since(t0)
	}
	closeTest(t, w)
	s := w.Stats()
	if s.Dropped == 0 {
		t.Error("nothing dropped with a queue of 16")
	}
	if s.Written+s.Dropped != n || s.Written != ok {
		t.Errorf("stats %+v, %d accepted of %d", s, ok, n)
	}
	if got := countRows(t, path, "requests", ""); got != s.Written {
		t.Errorf("%d rows, %d written", got, s.Written)
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	p999, mx := durs[n*999/1000], durs[n-1]
	slow := n - sort.Search(n, func(i int) bool { return durs[i] >= time.Millisecond })
	t.Logf("written %d, dropped %d; Log: p99.9 %v, max %v, %d calls ≥ 1ms", s.Written, s.Dropped, p999, mx, slow)
	// Log never blocks: a call over 1ms can only be the scheduler or the
	// GC stopping the goroutine (on a loaded machine), which must stay
	// rare: at most 0.1% of the calls.
	if p999 > 200*time.Microsecond || slow > n/1000 {
		t.Errorf("Log blocked: p99.9 %v, %d calls ≥ 1ms", p999, slow)
	}
}

func TestLogAfterClose(t *testing.T) {
	w := openTest(t, WriterOptions{})
	closeTest(t, w)
	if w.Log(&Record{Time: time.Now()}) {
		t.Error("Log accepted a record after Close")
	}
	if w.Stats().Dropped != 1 {
		t.Error("not counted as dropped")
	}
}

func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now()
	// A backlog of old rows, written with a long retention.
	w := openTest(t, WriterOptions{Path: path, RetentionDays: 1000, FlushInterval: 10 * time.Millisecond})
	const old = 60000
	for i := range old {
		r := genRecord(rng, now.Add(-40*24*time.Hour+time.Duration(i)*time.Second), i)
		for !w.Log(&r) {
			time.Sleep(time.Millisecond)
		}
	}
	closeTest(t, w)
	if got := countRows(t, path, "requests", ""); got != old {
		t.Fatalf("%d rows", got)
	}

	// Reopen with 30 days and write fresh rows while it prunes.
	w, err := openWriter(WriterOptions{Path: path, RetentionDays: 30, FlushInterval: 10 * time.Millisecond}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	const fresh = 12000
	start := time.Now()
	var maxLog time.Duration
	for i := range fresh {
		r := genRecord(rng, time.Now(), old+i)
		t0 := time.Now()
		if !w.Log(&r) {
			t.Fatalf("record %d dropped while pruning", i)
		}
		maxLog = max(maxLog, time.Since(t0))
		if i%5 == 4 {
			time.Sleep(time.Millisecond) // at most 5000/s, well within the writer's pace
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	cut := now.Add(-30 * 24 * time.Hour)
	for countRows(t, path, "requests", "WHERE ts < ?", cut.UnixMicro())+
		countRows(t, path, "rollup_minute", "WHERE bucket < ?", cut.Unix())+
		countRows(t, path, "rollup_hour", "WHERE bucket < ?", cut.Unix()-3600) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("old rows not pruned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pruned := time.Since(start)
	closeTest(t, w)
	lat := time.Duration(w.maxLatency.Load())
	t.Logf("pruned %d old rows in %v while writing %d; max Log→commit latency ≤ %v, max Log call %v", old, pruned, fresh, lat, maxLog)
	if got := countRows(t, path, "requests", ""); got != fresh {
		t.Errorf("%d rows left, want %d", got, fresh)
	}
	if n := countRows(t, path, "rollup_minute", "WHERE bucket >= ?", cut.Unix()); n == 0 {
		t.Error("fresh minute rollups pruned")
	}
	if s := w.Stats(); s.Dropped != 0 || s.Written != fresh {
		t.Errorf("stats %+v", s)
	}
	// Writes never waited for the pruning: every record was committed
	// within a few flush intervals.
	if lat > time.Second && !raceEnabled {
		t.Errorf("a record waited %v for its commit while pruning", lat)
	}
}

func TestConcurrentLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	w := openTest(t, WriterOptions{Path: path, QueueSize: 256, BatchSize: 64, FlushInterval: 5 * time.Millisecond})
	const workers, each = 8, 3000
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 11))
			for i := range each {
				r := genRecord(rng, time.Time{}, g*each+i) // zero time: now
				if w.Log(&r) {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	closeTest(t, w)
	s := w.Stats()
	if s.Written+s.Dropped != workers*each || s.Written != accepted.Load() {
		t.Errorf("stats %+v, accepted %d of %d", s, accepted.Load(), workers*each)
	}
	if got := countRows(t, path, "requests", "WHERE ts > ?", time.Now().Add(-time.Minute).UnixMicro()); got != s.Written {
		t.Errorf("%d rows stamped now, %d written", got, s.Written)
	}
}

// TestRollupsAcrossBatchesAndRestarts logs into the same rollup rows in
// many small batches, across a restart (the writer reads back the rows it
// has not written since it opened), with pruning running meanwhile, and
// checks the sums.
func TestRollupsAcrossBatchesAndRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	rng := rand.New(rand.NewPCG(12, 13))
	base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	var recs []Record
	for round := range 3 {
		w, err := openWriter(WriterOptions{Path: path, BatchSize: 7, FlushInterval: time.Millisecond}, 5*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 500 {
			r := genRecord(rng, base.Add(time.Duration(rng.IntN(90))*time.Second), len(recs))
			if i%50 == 0 && round == 1 {
				// Rows past the retention: pruned while the others are written.
				old := genRecord(rng, time.Now().Add(-40*24*time.Hour), -1)
				for !w.Log(&old) {
					time.Sleep(time.Millisecond)
				}
			}
			for !w.Log(&r) {
				time.Sleep(time.Millisecond)
			}
			recs = append(recs, r)
			if i%100 == 0 {
				time.Sleep(3 * time.Millisecond)
			}
		}
		closeTest(t, w)
	}
	w := openTest(t, WriterOptions{Path: path})
	for _, bucket := range []string{"minute", "hour", "day"} {
		rows, err := w.Query(context.Background(), Query{From: base.Add(-time.Hour), To: base.Add(2 * time.Hour), GroupBy: []string{"api", "subscription"}, Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		size := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[bucket]
		groups := map[[3]string][]Record{}
		for _, r := range recs {
			k := [3]string{r.Time.UTC().Truncate(size).Format(time.RFC3339), r.API, r.Subscription}
			groups[k] = append(groups[k], r)
		}
		if len(rows) != len(groups) {
			t.Fatalf("%s: %d rows, want %d", bucket, len(rows), len(groups))
		}
		for _, row := range rows {
			k := [3]string{row.Bucket.Format(time.RFC3339), row.API, row.Subscription}
			want := expect(groups[k])
			want.Bucket, want.API, want.Subscription = row.Bucket, row.API, row.Subscription
			checkRow(t, fmt.Sprintf("%s %v", bucket, k), row, want)
		}
	}
}

// A record in the minute that starts within the query's last second is
// counted (the end of the range was truncated to the second: a flaky CLI
// test saw 119 of 120 calls when seeding and querying straddled a minute).
func TestQueryEndWithinAMinutesFirstSecond(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(dir, "logs.db")})
	if err != nil {
		t.Fatal(err)
	}
	minute := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	w.Log(&Record{Time: minute.Add(100 * time.Millisecond), API: "a", Status: 200, Total: time.Millisecond})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w, err = OpenWriter(WriterOptions{Path: filepath.Join(dir, "logs.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	rows, err := w.Query(context.Background(), Query{From: minute.Add(-time.Hour), To: minute.Add(400 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Calls != 1 {
		t.Fatalf("rows = %+v, want the one call", rows)
	}
}
