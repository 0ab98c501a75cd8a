package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// driverName is the database/sql driver of the log database: go-sqlite3
// with the gh_agg_merge function registered on every connection.
const driverName = "sqlite3_gatehouse_analytics"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			return c.RegisterFunc("gh_agg_merge", aggMergeSQL, true)
		},
	})
}

// DSN parameters: the writer (WAL, synchronous=NORMAL: a committed batch
// survives a process crash; an OS crash or power loss may lose the last
// commits) and the read-only pool.
const (
	writerParams = "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate"
	readerParams = "mode=ro&_query_only=1&_busy_timeout=5000"
)

// Defaults of WriterOptions.
const (
	DefaultQueueSize     = 16384
	DefaultBatchSize     = 1024
	DefaultFlushInterval = 250 * time.Millisecond
	DefaultRetentionDays = 30
	// PruneChunk is the number of rows deleted per pruning transaction.
	PruneChunk = 5000
)

// WriterOptions configures OpenWriter.
type WriterOptions struct {
	Path          string        // the log database file, e.g. DATA/logs.db (separate from the catalog)
	QueueSize     int           // bounded queue, default 16384
	BatchSize     int           // rows per transaction, default 1024
	FlushInterval time.Duration // default 250ms: the loss window on kill -9 is FlushInterval + one batch commit
	RetentionDays int           // default 30; rows older are pruned in chunks of PruneChunk rows
	Logger        *slog.Logger
}

// WriterStats are the Writer's counters.
type WriterStats struct {
	Written, Dropped     int64
	QueueDepth, QueueCap int
}

type queued struct {
	r  Record
	at int64 // enqueue time, unix nanoseconds
}

// Writer appends records to the log database from one goroutine. Log is
// safe for concurrent use and never blocks; Query and Requests read
// through a separate read-only pool.
type Writer struct {
	o       WriterOptions
	log     *slog.Logger
	w, r    *sql.DB
	q       chan queued
	closing chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	once    sync.Once

	written, dropped atomic.Int64
	// maxLatency is the longest time, in nanoseconds, between Log and the
	// commit of the record (tests watch it while pruning).
	maxLatency atomic.Int64
	pruneReq   chan struct{}
	pruneEvery time.Duration
	now        func() time.Time
	closeErr   error
}

// OpenWriter opens (creating if needed) the log database and starts the
// writer goroutine.
func OpenWriter(o WriterOptions) (*Writer, error) {
	return openWriter(o, time.Minute)
}

func openWriter(o WriterOptions, pruneEvery time.Duration) (*Writer, error) {
	if o.Path == "" || o.Path == ":memory:" {
		return nil, errors.New("analytics: a database file path is required")
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.RetentionDays <= 0 {
		o.RetentionDays = DefaultRetentionDays
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	wdb, rdb, err := openDB(o.Path)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		o: o, log: lg, w: wdb, r: rdb,
		q:          make(chan queued, o.QueueSize),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
		pruneReq:   make(chan struct{}, 1),
		pruneEvery: pruneEvery,
		now:        time.Now,
	}
	go w.run()
	return w, nil
}

func dsn(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// openDB opens the writer connection (migrating the schema) and the
// read-only pool.
func openDB(path string) (*sql.DB, *sql.DB, error) {
	w, err := sql.Open(driverName, dsn(path)+"?"+writerParams)
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	ctx := context.Background()
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("analytics: opening %s: %w", path, err)
	}
	if mode != "wal" {
		w.Close()
		return nil, nil, fmt.Errorf("analytics: %s: journal mode is %q, want wal", path, mode)
	}
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("analytics: %s: creating the schema: %w", path, err)
	}
	r, err := sql.Open(driverName, dsn(path)+"?"+readerParams)
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("analytics: opening %s read-only: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, nil, fmt.Errorf("analytics: opening %s read-only: %w", path, err)
	}
	return w, r, nil
}

// schema of the log database. Times: requests.ts is unix microseconds;
// rollup buckets are unix seconds of the minute, hour or day start (UTC).
// A rollup row's figures are one blob (see agg.encode): calls, errors,
// bytes, cache hits and the latency histogram.
const schema = `
CREATE TABLE IF NOT EXISTS requests (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	request_id TEXT NOT NULL, api TEXT NOT NULL, operation TEXT NOT NULL, product TEXT NOT NULL,
	subscription TEXT NOT NULL, user TEXT NOT NULL, client_ip TEXT NOT NULL, method TEXT NOT NULL,
	path TEXT NOT NULL, query TEXT NOT NULL,
	status INTEGER NOT NULL, backend_status INTEGER NOT NULL,
	total_us INTEGER NOT NULL, backend_us INTEGER NOT NULL, policies_us INTEGER NOT NULL,
	bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, cache_hit INTEGER NOT NULL,
	policy_error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts);
CREATE INDEX IF NOT EXISTS requests_subscription ON requests(subscription, ts);
CREATE INDEX IF NOT EXISTS requests_api ON requests(api, ts);
CREATE TABLE IF NOT EXISTS rollup_minute (
	bucket INTEGER NOT NULL,
	api TEXT NOT NULL, operation TEXT NOT NULL, product TEXT NOT NULL, subscription TEXT NOT NULL, user TEXT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (bucket, api, operation, product, subscription, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_hour (
	bucket INTEGER NOT NULL,
	api TEXT NOT NULL, operation TEXT NOT NULL, product TEXT NOT NULL, subscription TEXT NOT NULL, user TEXT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (bucket, api, operation, product, subscription, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_day (
	bucket INTEGER NOT NULL,
	api TEXT NOT NULL, operation TEXT NOT NULL, product TEXT NOT NULL, subscription TEXT NOT NULL, user TEXT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (bucket, api, operation, product, subscription, user)
) WITHOUT ROWID;
`

const insertRequest = `INSERT INTO requests (ts, request_id, api, operation, product, subscription, user, client_ip,
	method, path, query, status, backend_status, total_us, backend_us, policies_us, bytes_in, bytes_out, cache_hit, policy_error)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func upsertRollup(table string) string {
	return `INSERT INTO ` + table + ` (bucket, api, operation, product, subscription, user, data) VALUES (?,?,?,?,?,?,?)
	ON CONFLICT (bucket, api, operation, product, subscription, user) DO UPDATE SET data = gh_agg_merge(data, excluded.data)`
}

// Log hands r to the writer. It never blocks: it copies the record into
// the queue and returns false, counting the record as dropped, when the
// queue is full or the writer is closed. A zero Time means now. Log is
// safe for concurrent use.
func (w *Writer) Log(r *Record) bool {
	if r == nil {
		return false
	}
	if w.closed.Load() {
		w.dropped.Add(1)
		return false
	}
	now := time.Now()
	it := queued{r: *r, at: now.UnixNano()}
	if it.r.Time.IsZero() {
		it.r.Time = now
	}
	select {
	case w.q <- it:
		return true
	default:
		w.dropped.Add(1)
		return false
	}
}

// Stats returns the counters: rows written (committed), records dropped
// (queue full, writer closed, or a failed batch), and the queue's depth
// and capacity.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Written: w.written.Load(), Dropped: w.dropped.Load(), QueueDepth: len(w.q), QueueCap: cap(w.q)}
}

// Close stops accepting records, writes everything queued and closes the
// database. When ctx ends first it returns ctx.Err() and the writer
// finishes in the background.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.closing)
	})
	select {
	case <-w.done:
		return w.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer goroutine.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]queued, 0, w.o.BatchSize)
	flush := func() {
		if len(batch) > 0 {
			w.flush(batch)
			clear(batch)
			batch = batch[:0]
		}
	}
	tick := time.NewTicker(w.o.FlushInterval)
	defer tick.Stop()
	pruneTick := time.NewTicker(w.pruneEvery)
	defer pruneTick.Stop()
	pruning := true // prune once at start
	for {
		select {
		case it := <-w.q:
			batch = append(batch, it)
			if len(batch) >= w.o.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
			// Prune in small transactions between batches, and only while
			// the queue is short, so that writes never wait for long.
			deadline := time.Now().Add(w.o.FlushInterval / 2)
			short := min(w.o.BatchSize, cap(w.q)/2)
			for pruning && len(w.q) < short && time.Now().Before(deadline) {
				more, err := w.pruneChunk()
				if err != nil {
					w.log.Error("analytics: pruning the request log", "err", err)
					pruning = false
				} else {
					pruning = more
				}
			}
		case <-pruneTick.C:
			pruning = true
		case <-w.pruneReq:
			pruning = true
		case <-w.closing:
			for {
				select {
				case it := <-w.q:
					batch = append(batch, it)
					if len(batch) >= w.o.BatchSize {
						flush()
					}
					continue
				default:
				}
				break
			}
			flush()
			w.closeErr = errors.Join(w.r.Close(), w.w.Close())
			return
		}
	}
}

// rollupKey identifies one rollup row.
type rollupKey struct {
	bucket                                      int64
	api, operation, product, subscription, user string
}

// agg is the figures of one rollup row.
type agg struct {
	calls, err4xx, err5xx, bytesIn, bytesOut, cacheHits int64
	h                                                   hist
}

func (a *agg) add(r *Record) {
	a.calls++
	switch {
	case r.Status >= 500:
		a.err5xx++
	case r.Status >= 400:
		a.err4xx++
	}
	a.bytesIn += r.BytesIn
	a.bytesOut += r.BytesOut
	if r.CacheHit {
		a.cacheHits++
	}
	a.h.add(r.Total)
}

func (a *agg) merge(o *agg) {
	a.calls += o.calls
	a.err4xx += o.err4xx
	a.err5xx += o.err5xx
	a.bytesIn += o.bytesIn
	a.bytesOut += o.bytesOut
	a.cacheHits += o.cacheHits
	a.h.merge(&o.h)
}

func keyOf(r *Record, bucket int64) rollupKey {
	return rollupKey{bucket, r.API, r.Operation, r.Product, r.Subscription, r.User}
}

// flush writes one batch in one transaction: the raw rows and the upserts
// of the minute and hour rollups they touch.
func (w *Writer) flush(batch []queued) {
	var rollups [len(levels)]map[rollupKey]*agg
	for i := range rollups {
		rollups[i] = map[rollupKey]*agg{}
	}
	for i := range batch {
		r := &batch[i].r
		sec := r.Time.Unix()
		for l, lv := range levels {
			k := keyOf(r, floorDiv(sec, lv.size)*lv.size)
			a := rollups[l][k]
			if a == nil {
				a = &agg{}
				rollups[l][k] = a
			}
			a.add(r)
		}
	}
	err := w.writeBatch(batch, rollups)
	if err != nil {
		w.dropped.Add(int64(len(batch)))
		w.log.Error("analytics: writing a batch of the request log failed; records dropped", "records", len(batch), "err", err)
		return
	}
	w.written.Add(int64(len(batch)))
	now := time.Now().UnixNano()
	oldest := batch[0].at
	for i := range batch {
		oldest = min(oldest, batch[i].at)
	}
	if lat := now - oldest; lat > w.maxLatency.Load() {
		w.maxLatency.Store(lat)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// levels are the rollup tables, finest first.
var levels = [...]struct {
	table string
	size  int64 // bucket size, seconds
}{{"rollup_minute", 60}, {"rollup_hour", 3600}, {"rollup_day", 86400}}

func (w *Writer) writeBatch(batch []queued, rollups [len(levels)]map[rollupKey]*agg) error {
	ctx := context.Background()
	tx, err := w.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, insertRequest)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i := range batch {
		r := &batch[i].r
		ch := 0
		if r.CacheHit {
			ch = 1
		}
		if _, err := ins.ExecContext(ctx, r.Time.UnixMicro(), r.RequestID, r.API, r.Operation, r.Product, r.Subscription,
			r.User, r.ClientIP, r.Method, r.Path, r.Query, r.Status, r.BackendStatus,
			r.Total.Microseconds(), r.Backend.Microseconds(), r.Policies.Microseconds(),
			r.BytesIn, r.BytesOut, ch, r.PolicyError); err != nil {
			return err
		}
	}
	for l, lv := range levels {
		if err := upsertAggs(ctx, tx, lv.table, rollups[l]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func upsertAggs(ctx context.Context, tx *sql.Tx, table string, m map[rollupKey]*agg) error {
	st, err := tx.PrepareContext(ctx, upsertRollup(table))
	if err != nil {
		return err
	}
	defer st.Close()
	buf := make([]byte, 0, 128)
	for k, a := range m {
		buf = a.encode(buf[:0])
		if _, err := st.ExecContext(ctx, k.bucket, k.api, k.operation, k.product, k.subscription, k.user, buf); err != nil {
			return err
		}
	}
	return nil
}

// pruneChunk deletes at most PruneChunk rows older than the retention
// from one table, in one transaction; it reports whether more may remain.
func (w *Writer) pruneChunk() (bool, error) {
	cut := w.now().Add(-time.Duration(w.o.RetentionDays) * 24 * time.Hour)
	ctx := context.Background()
	stmts := []struct {
		q   string
		arg int64
	}{
		{`DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts < ? ORDER BY ts LIMIT ` + fmt.Sprint(PruneChunk) + `)`, cut.UnixMicro()},
		{`DELETE FROM rollup_minute WHERE (bucket, api, operation, product, subscription, user) IN
			(SELECT bucket, api, operation, product, subscription, user FROM rollup_minute WHERE bucket < ? LIMIT ` + fmt.Sprint(PruneChunk) + `)`, cut.Unix()},
		// An hour (day) row goes when its whole hour (day) is past the
		// retention.
		{`DELETE FROM rollup_hour WHERE (bucket, api, operation, product, subscription, user) IN
			(SELECT bucket, api, operation, product, subscription, user FROM rollup_hour WHERE bucket < ? LIMIT ` + fmt.Sprint(PruneChunk) + `)`, cut.Unix() - 3600},
		{`DELETE FROM rollup_day WHERE (bucket, api, operation, product, subscription, user) IN
			(SELECT bucket, api, operation, product, subscription, user FROM rollup_day WHERE bucket < ? LIMIT ` + fmt.Sprint(PruneChunk) + `)`, cut.Unix() - 86400},
	}
	for _, s := range stmts {
		res, err := w.w.ExecContext(ctx, s.q, s.arg)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return true, nil
		}
	}
	return false, nil
}
