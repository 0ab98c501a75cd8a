package counter

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/abi"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// DefaultFlushInterval is the default Options.FlushInterval.
const DefaultFlushInterval = time.Second

// DefaultPersistMinWindow is the default Options.PersistMinWindow.
const DefaultPersistMinWindow = time.Minute

// Persistence (Options.PersistPath).
//
// The file holds one row per persisted counter: its identity (key, window,
// mode), the start of its current window, the count in it (and, for a
// sliding window, the count of the window before), and when the window
// resets and when the row stops mattering (expires). Add never touches the
// file: it queues a counter it has incremented in its shard's dirty list
// (once until the next flush). A background goroutine takes the dirty lists
// every FlushInterval, copies the counters under the shard locks, and writes
// them with one transaction (upserts, then a delete of the expired rows).
// The journal is WAL with synchronous=NORMAL: a committed transaction
// survives the process being killed (not necessarily a power loss).
//
// So after kill -9 a counter restarts from its value at the last committed
// flush: it has lost at most the increments acknowledged in the last
// FlushInterval (plus the time the flush takes to commit), never more.

const schema = `CREATE TABLE IF NOT EXISTS counters (
	key        BLOB    NOT NULL,
	window_ns  INTEGER NOT NULL,
	mode       INTEGER NOT NULL,
	start_ns   INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	prev       INTEGER NOT NULL DEFAULT 0,
	reset_ns   INTEGER NOT NULL,
	expires_ns INTEGER NOT NULL,
	PRIMARY KEY (key, window_ns, mode)
) WITHOUT ROWID`

const upsert = `INSERT INTO counters (key, window_ns, mode, start_ns, count, prev, reset_ns, expires_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key, window_ns, mode) DO UPDATE SET
	start_ns = excluded.start_ns, count = excluded.count, prev = excluded.prev,
	reset_ns = excluded.reset_ns, expires_ns = excluded.expires_ns
WHERE excluded.start_ns >= counters.start_ns`

type persister struct {
	db       *sql.DB
	interval time.Duration
	onErr    func(error)

	flushMu sync.Mutex // one flush at a time
	rows    []row      // reused by flush
	closed  bool       // the file is closed: Flush does nothing
	refs    []dirtyRef // reused by flush

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type row struct {
	k                 ckey
	start, cur, prev  int64
	resetAt, expireAt int64
}

// Open returns a Store. With Options.PersistPath it opens (or creates) the
// SQLite file, loads the persisted counters whose windows have not expired
// and starts the background flush; Close stops it and writes the last
// changes. Without PersistPath it is New.
func Open(opts Options) (*Store, error) {
	s := newStore(opts, numShards, true)
	if opts.PersistPath == "" {
		return s, nil
	}
	interval := opts.FlushInterval
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	minWindow := opts.PersistMinWindow
	if minWindow <= 0 {
		minWindow = DefaultPersistMinWindow
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(opts.PersistPath)
	db, err := sql.Open("sqlite3", uri+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("counter: open %s: %w", opts.PersistPath, err)
	}
	db.SetMaxOpenConns(1)
	if err := s.load(db, time.Now().UnixNano()); err != nil {
		db.Close()
		return nil, fmt.Errorf("counter: load %s: %w", opts.PersistPath, err)
	}
	s.db = &persister{db: db, interval: interval, onErr: opts.OnFlushError,
		stop: make(chan struct{}), done: make(chan struct{})}
	s.minPersist.Store(int64(minWindow))
	go s.flushLoop()
	return s, nil
}

// load creates the table if needed, drops the rows expired at now and puts
// the others in the shards.
func (s *Store) load(db *sql.DB, now int64) error {
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode %q, want wal", mode)
	}
	if _, err := db.Exec(schema); err != nil {
		return err
	}
	if _, err := db.Exec(`DELETE FROM counters WHERE expires_ns <= ?`, now); err != nil {
		return err
	}
	rs, err := db.Query(`SELECT key, window_ns, mode, start_ns, count, prev FROM counters`)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var key []byte
		var w, start, cur, prev int64
		var m int32
		if err := rs.Scan(&key, &w, &m, &start, &cur, &prev); err != nil {
			return err
		}
		if len(key) == 0 || len(key) > MaxKeyLen || w <= 0 || w > int64(MaxWindow) || m&^modeMask != 0 || cur < 0 || prev < 0 {
			continue // not a row this package wrote
		}
		k := ckey{key: string(key), window: w, mode: m}
		sh := s.shardFor(k.key)
		sh.m[k] = &entry{start: start, cur: cur, prev: prev, lastUsed: now}
	}
	return rs.Err()
}

func (s *Store) flushLoop() {
	p := s.db
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if err := s.Flush(); err != nil && p.onErr != nil {
				p.onErr(err)
			}
		}
	}
}

// Flush writes the persisted counters changed since the last flush, in one
// transaction. It is called every Options.FlushInterval and by Close; a Store
// without PersistPath has nothing to flush. If the write fails the counters
// are queued again for the next flush.
func (s *Store) Flush() error {
	p := s.db
	if p == nil {
		return nil
	}
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	if p.closed {
		return nil
	}
	now := time.Now().UnixNano()
	p.rows, p.refs = p.rows[:0], p.refs[:0]
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, d := range sh.dirty {
			e := d.e
			e.dirty = false
			end := e.start + d.k.window
			exp := end
			if d.k.mode&abi.CounterSliding != 0 {
				exp = satAdd(end, d.k.window)
			}
			p.rows = append(p.rows, row{k: d.k, start: e.start, cur: e.cur, prev: e.prev, resetAt: end, expireAt: exp})
		}
		p.refs = append(p.refs, sh.dirty...)
		clear(sh.dirty)
		sh.dirty = sh.dirty[:0]
		if cap(sh.dirty) > 4096 && len(p.refs) > 0 {
			sh.dirty = nil
		}
		sh.mu.Unlock()
	}
	err := p.write(p.rows, now)
	if err != nil {
		// Queue them again (those not re-queued by an Add meanwhile).
		for _, d := range p.refs {
			sh := s.shardFor(d.k.key)
			sh.mu.Lock()
			if !d.e.dirty {
				d.e.dirty = true
				sh.dirty = append(sh.dirty, d)
			}
			sh.mu.Unlock()
		}
	}
	clear(p.refs)
	return err
}

func (p *persister) write(rows []row, now int64) (err error) {
	if len(rows) == 0 {
		_, err := p.db.Exec(`DELETE FROM counters WHERE expires_ns <= ?`, now)
		return err
	}
	tx, err := p.db.Begin()
	if err != nil {
		return fmt.Errorf("counter: flush: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("counter: flush: %w", err)
		}
	}()
	st, err := tx.Prepare(upsert)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.Exec([]byte(r.k.key), r.k.window, r.k.mode, r.start, r.cur, r.prev, r.resetAt, r.expireAt); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`DELETE FROM counters WHERE expires_ns <= ?`, now); err != nil {
		return err
	}
	return tx.Commit()
}

// Close stops the background flush, writes the changed counters and closes
// the file. The Store still counts in memory afterwards, without persisting.
// Close is safe to call more than once (it returns the first result) and is
// a no-op for a Store without PersistPath.
func (s *Store) Close() error {
	p := s.db
	if p == nil {
		return nil
	}
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		// Stop queueing: the dirty lists would only grow from now on.
		s.minPersist.Store(math.MaxInt64)
		err := s.Flush()
		p.flushMu.Lock()
		p.closed = true
		p.closeErr = errors.Join(err, p.db.Close())
		p.flushMu.Unlock()
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			for _, d := range sh.dirty {
				d.e.dirty = false
			}
			sh.dirty = nil
			sh.mu.Unlock()
		}
	})
	return p.closeErr
}
