package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// driverName is the database/sql driver of the log database: go-sqlite3
// with the gh_agg_merge function registered on every connection.
const driverName = "sqlite3_gatehouse_analytics"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if err := c.RegisterFunc("gh_agg_merge", aggMergeSQL, true); err != nil {
				return err
			}
			// Checkpoint the WAL every walAutocheckpoint pages. Only
			// the writer connection checkpoints.
			_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", walAutocheckpoint), nil)
			return err
		},
	})
}

// walAutocheckpoint is the WAL size, in pages (4 KiB), that triggers a
// checkpoint (SQLite's default): the checkpoint runs inside the commit
// that fills the WAL and costs CPU in proportion to its pages, about 10 ms
// per 1000 (BenchmarkCheckpointCPU), a burst on the core the gateway
// shares. 10000 pages (a 40 MB WAL) made 70–90 ms bursts; with 4096-row
// commits the pages it saved rewriting (the tails of the table, its index
// and the rollup rows, copied back once per checkpoint) were 1 % of the
// bytes written (RATIONALE.md, "The request log's writer: CPU per record").
const walAutocheckpoint = 1000

// DSN parameters: the writer (WAL, synchronous=NORMAL: a committed batch
// survives a process crash; an OS crash or power loss may lose the last
// commits) and the read-only pool. The writer's connection is opened
// without SQLite's per-connection mutex (_mutex=no, SQLITE_OPEN_NOMUTEX):
// database/sql hands a connection to one goroutine at a time, and the
// writer binds about 20 arguments per row, each of which took and released
// that mutex (11 % of the writer's CPU in a profile).
const (
	writerParams = "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate&_mutex=no"
	readerParams = "mode=ro&_query_only=1&_busy_timeout=5000"
)

// Defaults of WriterOptions.
const (
	DefaultQueueSize = 16384
	// DefaultBatchSize: at the gateway's rates (thousands of requests per
	// second) a FlushInterval's records commit in one transaction; each
	// commit rewrites the tail pages of the table, its index and the
	// rollups, so fewer commits write fewer WAL frames per record.
	DefaultBatchSize     = 4096
	DefaultFlushInterval = 250 * time.Millisecond
	DefaultRetentionDays = 30
	// PruneChunk is the number of rows deleted per pruning transaction.
	PruneChunk = 5000
)

// WriterOptions configures OpenWriter.
type WriterOptions struct {
	Path          string        // the log database file, e.g. DATA/logs.db (separate from the catalog)
	QueueSize     int           // bounded queue, default 16384
	BatchSize     int           // rows per transaction, default 4096
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
	r Record
	// at is a time at or before the record's Log, in nanoseconds since
	// clockBase (monotonic): the start of the writer's previous take of
	// the queue, stamped by the writer, so that Log (once per proxied
	// request) reads no clock for it.
	at int64
}

// clockBase is the origin of the queue times: time.Since of it reads one
// clock, time.Now two.
var clockBase = time.Now()

// Writer appends records to the log database from one goroutine. Log is
// safe for concurrent use and never blocks; Query and Requests read
// through a separate read-only pool.
type Writer struct {
	o       WriterOptions
	log     *slog.Logger
	w, r    *sql.DB
	q       recordQueue
	closing chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	once    sync.Once

	// kick wakes the writer when a batch's worth is queued; otherwise it
	// sleeps until the next FlushInterval tick. Log never wakes it per
	// record (a goroutine switch per request on the request path).
	kick   chan struct{}
	kickAt int

	written, dropped atomic.Int64
	// wakeups counts the writer goroutine's wake-ups (kicks and ticks).
	wakeups atomic.Int64
	// maxLatency bounds from above the longest time, in nanoseconds,
	// between Log and the commit of the record (tests watch it while
	// pruning); see queued.at.
	maxLatency atomic.Int64
	// taken is when the writer last began to take the queue (queued.at).
	taken int64
	// maxWrite is the longest batch transaction, in nanoseconds (with
	// its checkpoint, when the commit ran one).
	maxWrite   atomic.Int64
	pruneReq   chan struct{}
	pruneEvery time.Duration
	now        func() time.Time
	closeErr   error
	wb         writeBuf // the writer goroutine's
	// stmts counts the SQL statements the writer executed for batches
	// (inserts, rollup reads and upserts; not BEGIN/COMMIT), commits the
	// batches' transactions committed.
	stmts, commits atomic.Int64
	// mark: the hour and day rollups hold every minute before it (unix
	// seconds; see rollup_mark). Owned by the writer goroutine; markSeen
	// is its committed value for queries.
	mark     int64
	markSeen atomic.Int64
}

// OpenWriter opens (creating if needed) the log database and starts the
// writer goroutine.
func OpenWriter(o WriterOptions) (*Writer, error) {
	return openWriter(o, time.Minute)
}

func openWriter(o WriterOptions, pruneEvery time.Duration) (*Writer, error) {
	return openWriterClock(o, pruneEvery, time.Now)
}

// openWriterClock is openWriter with the clock of its minutes (the mark,
// pruning, a query's defaults); records carry their own times.
func openWriterClock(o WriterOptions, pruneEvery time.Duration, now func() time.Time) (*Writer, error) {
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
		q:          recordQueue{max: o.QueueSize},
		kick:       make(chan struct{}, 1),
		kickAt:     max(1, min(o.BatchSize, o.QueueSize/2)),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
		pruneReq:   make(chan struct{}, 1),
		pruneEvery: pruneEvery,
		now:        now,
		taken:      int64(time.Since(clockBase)),
	}
	if err := w.recoverMark(); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("analytics: %s: bringing the hour and day rollups up to date: %w", o.Path, err)
	}
	go w.run()
	return w, nil
}

// recoverMark reads the mark and loads the figures of the minute rows from
// it on — those the hour and day rows do not have — as pending, as if this
// writer had written them; the ones the clock has passed then go up at
// once, through the writer's own move (movePending), in one transaction
// with the new mark. So no minute row is ever moved up twice, whatever
// stopped the last writer. A database without a mark gets one: the
// current minute for a new one; for one written by a version that
// updated every level per batch (its hour and day rows already count its
// minutes), the minute after its last minute row.
func (w *Writer) recoverMark() error {
	ctx := context.Background()
	now := floorDiv(w.now().Unix(), 60) * 60
	var old int64
	switch err := w.w.QueryRowContext(ctx, `SELECT minute FROM rollup_mark WHERE id = 1`).Scan(&old); {
	case errors.Is(err, sql.ErrNoRows):
		var last sql.NullInt64
		if err := w.w.QueryRowContext(ctx, `SELECT max(bucket) FROM rollup_minute`).Scan(&last); err != nil {
			return err
		}
		mark := now
		if last.Valid {
			mark = max(mark, last.Int64+60)
		}
		if _, err := w.w.ExecContext(ctx, setMark, mark); err != nil {
			return err
		}
		w.mark = mark
	case err != nil:
		return err
	default:
		rows, err := w.w.QueryContext(ctx, `SELECT bucket, api, operation, product, subscription, user, data FROM rollup_minute WHERE bucket >= ?`, old)
		if err != nil {
			return err
		}
		defer rows.Close()
		w.wb.pend = map[rollupKey]agg{}
		for rows.Next() {
			var k rollupKey
			var data []byte
			if err := rows.Scan(&k.bucket, &k.api, &k.operation, &k.product, &k.subscription, &k.user, &data); err != nil {
				return err
			}
			var m agg
			if err := m.decodeAdd(data); err != nil {
				return err
			}
			w.wb.pend[k] = m
		}
		if err := rows.Err(); err != nil {
			return err
		}
		w.mark = old
	}
	w.markSeen.Store(w.mark)
	w.movePending() // before the writer goroutine starts: this goroutine owns wb
	return nil
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
	if err := addGRPCStatusColumn(ctx, w); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("analytics: %s: %w", path, err)
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
-- Earlier versions also indexed (subscription, ts) and (api, ts): inserts
-- in the middle of those indexes cost more CPU per row than the rest of
-- the row; Requests filtered by API or subscription now walk requests_ts,
-- like the other filters.
DROP INDEX IF EXISTS requests_subscription;
DROP INDEX IF EXISTS requests_api;
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
-- The hour and day rollups hold every minute before rollup_mark.minute
-- (unix seconds) and nothing of the minutes from it on, which only the
-- minute rollups hold until the writer moves them up (once a minute; at
-- open, for those a stop left behind).
CREATE TABLE IF NOT EXISTS rollup_mark (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	minute INTEGER NOT NULL
);
`

// upsertRollup adds one row's figures to a rollup row in SQL
// (gh_agg_merge); the writer computes full figures instead (see
// writeBuf.known), the benchmark fixture builder uses this.
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
	if r.Time.IsZero() {
		c := *r
		c.Time = time.Now()
		r = &c
	}
	n, ok := w.q.push(r)
	if !ok {
		w.dropped.Add(1)
		return false
	}
	if n >= w.kickAt {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats returns the counters: rows written (committed), records dropped
// (queue full, writer closed, or a failed batch), and the queue's depth
// and capacity.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Written: w.written.Load(), Dropped: w.dropped.Load(), QueueDepth: w.q.len(), QueueCap: w.q.max}
}

// ShrinkMemory asks SQLite to free the page cache of the log's idle
// connections (catalog/sqlite ShrinkIdle): a start's rollup recovery and
// pruning read pages an idle gateway does not need.
func (w *Writer) ShrinkMemory(ctx context.Context) error {
	return errors.Join(sqlite.ShrinkIdle(ctx, w.w), sqlite.ShrinkIdle(ctx, w.r))
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
	// batch is a partial batch carried from one take to the next; it and
	// the queue's spare buffer grow with use and are let go after a quiet
	// spell (recordQueue).
	var batch, spare []queued
	var keepBatch, keepSpare bufferKeeper
	flush := func() {
		if len(batch) > 0 {
			n := len(batch)
			w.flush(batch)
			batch = keepBatch.keep(batch, n)
		}
	}
	tick := time.NewTicker(w.o.FlushInterval)
	defer tick.Stop()
	pruneTick := time.NewTicker(w.pruneEvery)
	defer pruneTick.Stop()
	pruning := true // prune once at start
	// add writes taken records in batches of BatchSize: a partial batch
	// carried from the last kick is filled first; full batches are written
	// straight from got (no copy). What is left is written too when all
	// (a tick, or closing); after a kick it is carried in batch to the
	// next take. Every record taken was queued after the previous take
	// began.
	add := func(got []queued, all bool) {
		for i := range got {
			got[i].at = w.taken
		}
		if len(batch) > 0 {
			n := min(w.o.BatchSize-len(batch), len(got))
			batch = append(batch, got[:n]...)
			got = got[n:]
			if len(batch) >= w.o.BatchSize || all {
				flush()
			}
		}
		for len(got) >= w.o.BatchSize || (all && len(got) > 0) {
			n := min(w.o.BatchSize, len(got))
			w.flush(got[:n])
			got = got[n:]
		}
		if len(got) > 0 {
			batch = append(batch, got...)
		} else if len(batch) == 0 {
			batch = keepBatch.keep(batch, 0) // unused this take
		}
	}
	take := func(all bool) {
		t := int64(time.Since(clockBase))
		got := w.q.take(spare)
		add(got, all)
		spare = keepSpare.keep(got, len(got))
		w.taken = t
	}
	for {
		// The queue is not a case here: a record sent while the writer
		// waits must not wake it (see kick).
		select {
		case <-w.kick:
			w.wakeups.Add(1)
			take(false)
		case <-tick.C:
			w.wakeups.Add(1)
			take(true)
			w.movePending()
			// Prune in small transactions between batches, and only while
			// the queue is short, so that writes never wait for long.
			deadline := time.Now().Add(w.o.FlushInterval / 2)
			short := min(w.o.BatchSize, w.q.max/2)
			for pruning && w.q.len() < short && time.Now().Before(deadline) {
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
			add(w.q.close(), true)
			w.closeErr = errors.Join(w.closeStmts(), w.r.Close(), w.w.Close())
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
// of the minute, hour and day rollups they touch, aggregated in memory
// first (one upsert per distinct key and level per batch).
func (w *Writer) flush(batch []queued) {
	wb := &w.wb
	for l := range wb.rollups {
		if wb.rollups[l] == nil {
			wb.rollups[l] = map[rollupKey]*agg{}
		}
	}
	if wb.pend == nil {
		wb.pend = map[rollupKey]agg{}
	}
	// Records into the minute rollups, then minutes into the coarser
	// levels (one map access per record instead of one per level).
	// Consecutive records mostly share their key (one API's traffic): the
	// last key's figures are reused without hashing the key's five
	// strings again.
	minutes := wb.rollups[0]
	var last rollupKey
	var a *agg
	for i := range batch {
		r := &batch[i].r
		k := keyOf(r, floorDiv(r.Time.Unix(), levels[0].size)*levels[0].size)
		if a == nil || k != last {
			if a = minutes[k]; a == nil {
				a = wb.newAgg()
				minutes[k] = a
			}
			last = k
		}
		a.add(r)
	}
	// The hour and day rows are written once a minute, not per batch
	// (RATIONALE.md "Hour and day rollups once a minute"): they hold the
	// minutes before the mark; a batch's minutes from the mark on wait in
	// wb.pend (their minute rows are written now) until the clock passes
	// them. Minutes before the new mark go up in this transaction: the
	// pending ones the clock has passed, and a batch's late records.
	newMark := w.mark
	if c := floorDiv(w.now().Unix(), 60) * 60; c > newMark {
		newMark = c
	}
	// The batch's figures of the minutes that stay pending, copied now:
	// writing the minute rows adds their committed figures to minutes.
	if wb.pendNew == nil {
		wb.pendNew = map[rollupKey]agg{}
	}
	for k, m := range minutes {
		if k.bucket < newMark {
			wb.mergeCoarse(k, m)
		} else {
			wb.pendNew[k] = *m
		}
	}
	moving := newMark > w.mark // pend holds only minutes from w.mark on
	if moving {
		for k, p := range wb.pend {
			if k.bucket < newMark {
				wb.mergeCoarse(k, &p)
			}
		}
	}
	wb.mark = newMark
	t0 := time.Now()
	err := w.writeBatch(batch)
	if d := int64(time.Since(t0)); d > w.maxWrite.Load() {
		w.maxWrite.Store(d)
	}
	if err == nil {
		for k, m := range wb.pendNew {
			p := wb.pend[k]
			p.merge(&m)
			wb.pend[k] = p
		}
		if moving {
			for k := range wb.pend {
				if k.bucket < newMark {
					delete(wb.pend, k)
				}
			}
		}
		w.mark = newMark
		w.markSeen.Store(newMark)
	}
	clear(wb.pendNew)
	wb.reset()
	if err != nil && len(batch) == 0 {
		w.log.Error("analytics: moving the passed minutes into the hour and day rollups failed; tried again at the next tick", "err", err)
		return
	}
	if err != nil {
		w.dropped.Add(int64(len(batch)))
		w.log.Error("analytics: writing a batch of the request log failed; records dropped", "records", len(batch), "err", err)
		return
	}
	if len(batch) == 0 {
		return
	}
	w.written.Add(int64(len(batch)))
	now := int64(time.Since(clockBase))
	oldest := batch[0].at
	for i := range batch {
		oldest = min(oldest, batch[i].at)
	}
	if lat := now - oldest; lat > w.maxLatency.Load() {
		w.maxLatency.Store(lat)
	}
}

// mergeCoarse adds the figures of the minute row k to the batch's hour and
// day rows.
func (wb *writeBuf) mergeCoarse(k rollupKey, m *agg) {
	for l := 1; l < len(levels); l++ {
		ck := k
		ck.bucket = floorDiv(k.bucket, levels[l].size) * levels[l].size
		a := wb.rollups[l][ck]
		if a == nil {
			a = wb.newAgg()
			wb.rollups[l][ck] = a
		}
		a.merge(m)
	}
}

// movePending writes the pending minutes the clock has passed into the
// hour and day rows when no batch comes to carry them (an idle tick).
func (w *Writer) movePending() {
	if len(w.wb.pend) == 0 || floorDiv(w.now().Unix(), 60)*60 <= w.mark {
		return
	}
	w.flush(nil)
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

// Rows per multi-row statement: a batch is written in statements of
// chunkSizes[0] rows and its remainder in statements of the smaller
// powers of two, so at most len(chunkSizes) statements per table are ever
// prepared (once per connection, kept across batches).
var chunkSizes = [...]int{64, 32, 16, 8, 4, 2, 1}

const (
	requestCols = 21 // parameters per raw row
	rollupCols  = 7  // parameters per rollup row
)

// chunkOf returns the index in chunkSizes of the largest size ≤ n (n ≥ 1).
func chunkOf(n int) int {
	for i, c := range chunkSizes {
		if c <= n {
			return i
		}
	}
	return len(chunkSizes) - 1
}

func multiRow(prefix string, rows, cols int, suffix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	b.WriteString(suffix)
	return b.String()
}

const insertRequestsPrefix = `INSERT INTO requests (ts, request_id, api, operation, product, subscription, user, client_ip,
	method, path, query, status, backend_status, total_us, backend_us, policies_us, bytes_in, bytes_out, cache_hit, policy_error, grpc_status)`

func upsertRollupsPrefix(table string) string {
	return `INSERT INTO ` + table + ` (bucket, api, operation, product, subscription, user, data)`
}

// upsertRollupsSuffix: the writer computes each row's full figures (see
// writeBuf.known), so a conflicting row is simply overwritten.
const upsertRollupsSuffix = ` ON CONFLICT (bucket, api, operation, product, subscription, user) DO UPDATE SET data = excluded.data`

const setMark = `INSERT INTO rollup_mark (id, minute) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET minute = excluded.minute`

func selectRollup(table string) string {
	return `SELECT data FROM ` + table + ` WHERE bucket = ? AND api = ? AND operation = ? AND product = ? AND subscription = ? AND user = ?`
}

// writeBuf is the writer goroutine's reusable state: the rollups of the
// batch being written, an arena of aggs, the statement arguments, and the
// statements prepared on the writer connection.
type writeBuf struct {
	rollups [len(levels)]map[rollupKey]*agg
	aggs    []agg
	nagg    int
	args    []driver.NamedValue
	blobs   []byte

	// known holds, per level, the committed figures of the rollup rows
	// the last batch wrote (the writer is the only one to write them), so
	// that the next batch can write their sums without reading them back
	// or merging in SQL; next is filled during a batch and swapped in on
	// commit. Dropped on any failure and whenever pruning deletes rows.
	known, next [len(levels)]map[rollupKey]agg

	// pend holds the figures of the minutes from the mark on, by minute
	// row, that the hour and day rows do not have yet (the minute rows
	// do). mark is the mark the transaction being written moves to
	// (written in it if it differs from Writer.mark, the committed one);
	// wrote says which levels it wrote.
	pend, pendNew map[rollupKey]agg
	mark          int64
	wrote         [len(levels)]bool

	// The raw-row insert's arguments, built once (see rowArgs): each
	// int64 or text argument is an interface whose data point into ints
	// or strs, so writing a row stores its values there and allocates
	// nothing.
	insArgs []driver.NamedValue
	ints    []int64
	strs    []string
	intRefs []driver.Value

	conn *sqlite3.SQLiteConn // the connection the statements belong to
	ins  [len(chunkSizes)]driver.Stmt
	ups  [len(levels)][len(chunkSizes)]driver.Stmt
	sel  [len(levels)]driver.Stmt
	dest []driver.Value
}

// rowArgs returns the arguments of an n-row insert (n ≤ chunkSizes[0]):
// the same arrays for every statement, so that row i's values are always
// at ints/strs[i*requestCols+column].
func (wb *writeBuf) rowArgs(n int) []driver.NamedValue {
	if wb.insArgs == nil {
		m := chunkSizes[0] * requestCols
		wb.insArgs = make([]driver.NamedValue, m)
		wb.ints = make([]int64, m)
		wb.strs = make([]string, m)
		wb.intRefs = make([]driver.Value, m)
		for p := range wb.insArgs {
			wb.insArgs[p].Ordinal = p + 1
			wb.intRefs[p] = refInt(&wb.ints[p])
			switch p % requestCols { // the integer columns of insertRequestsPrefix
			case 0, 11, 12, 13, 14, 15, 16, 17, 18, 20:
				wb.insArgs[p].Value = wb.intRefs[p]
			default:
				wb.insArgs[p].Value = refString(&wb.strs[p])
			}
		}
	}
	return wb.insArgs[:n*requestCols]
}

// eface is the layout of a Go empty interface: its type, and a pointer to
// its value (for the int64 and string values used here).
type eface struct {
	typ, data unsafe.Pointer
}

// refInt returns an int64 driver.Value that reads *p: boxing an int64 of
// 256 or more allocates, and the writer binds several per row. The value
// is read when the statement binds its arguments, synchronously in
// execStmt; *p must not change while a statement holding it runs.
func refInt(p *int64) driver.Value {
	var v driver.Value = int64(0)
	(*eface)(unsafe.Pointer(&v)).data = unsafe.Pointer(p)
	return v
}

// refString is refInt for a string (boxing a string allocates).
func refString(p *string) driver.Value {
	var v driver.Value = ""
	(*eface)(unsafe.Pointer(&v)).data = unsafe.Pointer(p)
	return v
}

// forget drops the cached rollup figures.
func (wb *writeBuf) forget() {
	for l := range wb.known {
		clear(wb.known[l])
		clear(wb.next[l])
	}
}

func (wb *writeBuf) newAgg() *agg {
	if wb.nagg == len(wb.aggs) {
		// Grow without moving the aggs already handed out.
		wb.aggs = make([]agg, max(256, 2*len(wb.aggs)))
		wb.nagg = 0
	}
	a := &wb.aggs[wb.nagg]
	wb.nagg++
	*a = agg{}
	return a
}

func (wb *writeBuf) reset() {
	for l := range wb.rollups {
		clear(wb.rollups[l])
	}
	wb.nagg = 0
	for i := range wb.args {
		wb.args[i].Value = nil // keep the ordinals, drop the references
	}
	clear(wb.strs) // drop the batch's strings
}

// closeStmts finalizes the prepared statements.
func (wb *writeBuf) closeStmts() error {
	var errs []error
	for i := range wb.ins {
		if wb.ins[i] != nil {
			errs = append(errs, wb.ins[i].Close())
			wb.ins[i] = nil
		}
	}
	for l := range wb.sel {
		if wb.sel[l] != nil {
			errs = append(errs, wb.sel[l].Close())
			wb.sel[l] = nil
		}
	}
	for l := range wb.ups {
		for i := range wb.ups[l] {
			if wb.ups[l][i] != nil {
				errs = append(errs, wb.ups[l][i].Close())
				wb.ups[l][i] = nil
			}
		}
	}
	wb.conn = nil
	wb.forget()
	return errors.Join(errs...)
}

func (wb *writeBuf) stmt(ctx context.Context, p *driver.Stmt, query func() string) (driver.Stmt, error) {
	if *p == nil {
		st, err := wb.conn.PrepareContext(ctx, query())
		if err != nil {
			return nil, err
		}
		*p = st
	}
	return *p, nil
}

// argsFor returns n reusable positional arguments.
func (wb *writeBuf) argsFor(n int) []driver.NamedValue {
	if len(wb.args) < n {
		wb.args = make([]driver.NamedValue, n)
		for i := range wb.args {
			wb.args[i].Ordinal = i + 1
		}
	}
	return wb.args[:n]
}

// execStmt runs a data-modifying statement through the driver's query
// path, which binds every argument and steps in one cgo call (its exec
// path crosses cgo once per argument), and drains it.
func execStmt(ctx context.Context, st driver.Stmt, args []driver.NamedValue) error {
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return err
	}
	for {
		if err := rows.Next(nil); err == io.EOF {
			break
		} else if err != nil {
			rows.Close()
			return err
		}
	}
	return rows.Close()
}

// readRollup adds the committed figures of the rollup row k of level l,
// if any, to a.
func (wb *writeBuf) readRollup(ctx context.Context, l int, k rollupKey, a *agg) error {
	st, err := wb.stmt(ctx, &wb.sel[l], func() string { return selectRollup(levels[l].table) })
	if err != nil {
		return err
	}
	args := wb.argsFor(6)
	args[0].Value, args[1].Value, args[2].Value, args[3].Value, args[4].Value, args[5].Value =
		k.bucket, k.api, k.operation, k.product, k.subscription, k.user
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if wb.dest == nil {
		wb.dest = make([]driver.Value, 1)
	}
	switch err := rows.Next(wb.dest); err {
	case io.EOF:
		return nil
	case nil:
	default:
		return err
	}
	var data []byte
	switch x := wb.dest[0].(type) {
	case []byte:
		data = x
	case string:
		data = []byte(x)
	}
	wb.dest[0] = nil
	return a.decodeAdd(data)
}

// writeBatch writes the raw rows of batch and the rollups in w.wb in one
// transaction, on the driver connection (multi-row statements, reused
// argument slices, no database/sql conversions per value).
func (w *Writer) writeBatch(batch []queued) error {
	ctx := context.Background()
	conn, err := w.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("analytics: unexpected driver connection %T", dc)
		}
		wb := &w.wb
		if wb.conn != c {
			wb.closeStmts()
			wb.conn = c
		}
		tx, err := c.BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			wb.forget()
			return err
		}
		err = w.writeRows(ctx, batch)
		if err == nil && wb.mark != w.mark {
			w.stmts.Add(1)
			_, err = c.ExecContext(ctx, setMark, []driver.NamedValue{{Ordinal: 1, Value: wb.mark}})
		}
		if err != nil {
			tx.Rollback()
			wb.forget()
			return err
		}
		if err := tx.Commit(); err != nil {
			wb.forget()
			return err
		}
		w.commits.Add(1)
		for l := range wb.known {
			if !wb.wrote[l] {
				continue // its cached figures are still those committed
			}
			wb.known[l], wb.next[l] = wb.next[l], wb.known[l]
			clear(wb.next[l])
		}
		return nil
	})
}

func (w *Writer) writeRows(ctx context.Context, batch []queued) error {
	wb := &w.wb
	for off := 0; off < len(batch); {
		ci := chunkOf(len(batch) - off)
		n := chunkSizes[ci]
		st, err := wb.stmt(ctx, &wb.ins[ci], func() string { return multiRow(insertRequestsPrefix, n, requestCols, "") })
		if err != nil {
			return err
		}
		args := wb.rowArgs(n)
		for i := range n {
			r := &batch[off+i].r
			p := i * requestCols
			ints, strs := wb.ints[p:p+requestCols], wb.strs[p:p+requestCols]
			ints[0] = r.Time.UnixMicro()
			strs[1] = r.RequestID
			strs[2] = r.API
			strs[3] = r.Operation
			strs[4] = r.Product
			strs[5] = r.Subscription
			strs[6] = r.User
			strs[7] = r.ClientIP
			strs[8] = r.Method
			strs[9] = r.Path
			strs[10] = r.Query
			ints[11] = int64(r.Status)
			ints[12] = int64(r.BackendStatus)
			ints[13] = r.Total.Microseconds()
			ints[14] = r.Backend.Microseconds()
			ints[15] = r.Policies.Microseconds()
			ints[16] = r.BytesIn
			ints[17] = r.BytesOut
			ints[18] = cacheCode(r)
			strs[19] = r.PolicyError
			// grpc_status: NULL unless a gRPC call.
			if r.GRPC {
				ints[20] = int64(r.GRPCStatus)
				args[p+20].Value = wb.intRefs[p+20]
			} else {
				args[p+20].Value = nil
			}
		}
		w.stmts.Add(1)
		if err := execStmt(ctx, st, args); err != nil {
			return err
		}
		off += n
	}
	for l, lv := range levels {
		m := wb.rollups[l]
		if wb.wrote[l] = len(m) > 0; !wb.wrote[l] {
			continue
		}
		if wb.known[l] == nil {
			wb.known[l], wb.next[l] = map[rollupKey]agg{}, map[rollupKey]agg{}
		}
		// Complete each row's figures: the batch's plus those committed
		// (cached from the last batch, or read).
		for k, a := range m {
			if full, ok := wb.known[l][k]; ok {
				a.merge(&full)
			} else {
				w.stmts.Add(1)
				if err := wb.readRollup(ctx, l, k, a); err != nil {
					return err
				}
			}
			wb.next[l][k] = *a
		}
		blobs := wb.blobs[:0]
		var args []driver.NamedValue
		var i, n int
		var st driver.Stmt
		left := len(m)
		for k, a := range m {
			if i == 0 {
				ci := chunkOf(left)
				n = chunkSizes[ci]
				var err error
				st, err = wb.stmt(ctx, &wb.ups[l][ci], func() string {
					return multiRow(upsertRollupsPrefix(lv.table), n, rollupCols, upsertRollupsSuffix)
				})
				if err != nil {
					return err
				}
				args = wb.argsFor(n * rollupCols)
				blobs = blobs[:0]
			}
			s := len(blobs)
			blobs = a.encode(blobs)
			v := args[i*rollupCols : (i+1)*rollupCols]
			v[0].Value = k.bucket
			v[1].Value = k.api
			v[2].Value = k.operation
			v[3].Value = k.product
			v[4].Value = k.subscription
			v[5].Value = k.user
			v[6].Value = blobs[s:len(blobs):len(blobs)]
			i++
			left--
			if i == n {
				w.stmts.Add(1)
				if err := execStmt(ctx, st, args); err != nil {
					return err
				}
				i = 0
			}
		}
		wb.blobs = blobs[:0]
	}
	return nil
}

// closeStmts finalizes the writer's prepared statements (before the
// connection closes).
func (w *Writer) closeStmts() error {
	if w.wb.conn == nil {
		return nil
	}
	ctx := context.Background()
	conn, err := w.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); !ok || c != w.wb.conn {
			w.wb = writeBuf{} // the connection was replaced: its statements went with it
			return nil
		}
		return w.wb.closeStmts()
	})
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
			w.wb.forget() // the cached rollup figures may name deleted rows
			return true, nil
		}
	}
	return false, nil
}
