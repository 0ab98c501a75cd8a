// Package sqlite is the embedded SQLite catalog store, built on
// github.com/mattn/go-sqlite3.
//
// The database runs in WAL mode with synchronous=FULL, foreign keys on, a
// busy timeout and immediate write transactions. All writes go through a
// single writer connection; reads use a separate read-only pool. Every
// write transaction bumps the catalog version and appends an audit entry in
// the same transaction, so a reader that sees a new version sees the write
// that produced it.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
)

// DSN parameters of the writer connection.
const writerParams = "_journal_mode=WAL&_synchronous=FULL&_foreign_keys=on&_busy_timeout=5000&_txlock=immediate"

// DSN parameters of the read pool: read-only at the SQLite level.
const readerParams = "mode=ro&_query_only=1&_foreign_keys=on&_busy_timeout=5000"

// Store is the SQLite catalog. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // one connection: every write
	r      *sql.DB // read-only pool
	sealer *catalog.KeySealer
	now    func() time.Time
}

var _ catalog.Store = (*Store)(nil)

// Open opens (creating if needed) the catalog database at path, applies
// pending migrations, and loads the master key with
// catalog.LoadOrCreateMasterKey from the environment variable
// catalog.MasterKeyEnv or, when unset, from master.key next to the database.
func Open(path string) (*Store, error) {
	key, err := catalog.LoadOrCreateMasterKey(filepath.Dir(path), os.Getenv(catalog.MasterKeyEnv))
	if err != nil {
		return nil, err
	}
	return OpenWithMasterKey(path, key)
}

// OpenWithMasterKey is Open with an explicit 32-byte master key.
func OpenWithMasterKey(path string, masterKey []byte) (*Store, error) {
	sealer, err := catalog.NewKeySealer(masterKey)
	if err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" {
		return nil, errors.New("sqlite: a database file path is required")
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	w, err := sql.Open("sqlite3", uri+"?"+writerParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, sealer: sealer, now: time.Now}
	ctx := context.Background()
	// Switching a fresh file to WAL and migrating need locks that SQLite
	// does not always wait for with the busy handler (another process may
	// be doing the same), so these steps retry on SQLITE_BUSY.
	var mode string
	err = retryBusy(func() error {
		return w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	})
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	if mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlite: %s: journal mode is %q, want wal", path, mode)
	}
	if err := retryBusy(func() error { return migrate(ctx, w) }); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", uri+"?"+readerParams)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening %s read-only: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: opening %s read-only: %w", path, err)
	}
	s.r = r
	return s, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Version returns the catalog version: a counter bumped by every write.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, "SELECT version FROM catalog_version WHERE id = 1").Scan(&v)
	return v, mapErr(err)
}

// ListAudit returns up to limit audit entries, newest first (limit <= 0
// means 100).
func (s *Store) ListAudit(ctx context.Context, limit int) ([]catalog.AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, entity, entity_id, detail, version
		FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.AuditEntry
	for rows.Next() {
		var e catalog.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &e.Detail, &e.Version); err != nil {
			return nil, mapErr(err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

// audit describes the audit entry a write appends.
type audit struct {
	action, entity, id, detail string
}

// write runs fn in an immediate transaction on the writer connection, then
// bumps the catalog version and appends the audit entry in the same
// transaction.
func (s *Store) write(ctx context.Context, a audit, fn func(tx *sql.Tx) error) error {
	if b := batchOf(ctx, s); b != nil {
		return b.write(ctx, a, fn) // one transaction for the whole batch (batch.go)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return mapErr(err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version").Scan(&v); err != nil {
		return mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.now().UnixNano(), catalog.ActorFrom(ctx), a.action, a.entity, a.id, a.detail, v); err != nil {
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// writeOne is write with a single statement that must change a row: it
// fails with ErrNotFound (what, id) when query affects none.
func (s *Store) writeOne(ctx context.Context, a audit, what, id, query string, args ...any) error {
	return s.write(ctx, a, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		return mustAffect(res, what, id)
	})
}

// retryBusy runs fn until it does not fail with SQLITE_BUSY or
// SQLITE_LOCKED, for at most about five seconds (the busy timeout).
func retryBusy(fn func() error) error {
	deadline := time.Now().Add(5 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := fn()
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || (se.Code != sqlite3.ErrBusy && se.Code != sqlite3.ErrLocked) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

// mapErr turns database errors into the catalog's typed errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrInvalid) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: already exists (%v)", catalog.ErrConflict, se)
		case sqlite3.ErrConstraintForeignKey:
			return fmt.Errorf("%w: missing or still referenced entity (%v)", catalog.ErrConflict, se)
		case sqlite3.ErrConstraintCheck, sqlite3.ErrConstraintNotNull:
			return &catalog.FieldError{Msg: se.Error()}
		}
	}
	return err
}

// mustAffect returns ErrNotFound when res changed no row.
func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return catalog.NotFoundf("%s %q", what, id)
	}
	return nil
}

func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.NotFoundf("%s %q", what, id)
	}
	return mapErr(err)
}

// newID returns a random 24-hex-digit identifier.
func newID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
