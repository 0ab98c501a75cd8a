package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/gatehouse/gatehouse/catalog"
)

var _ catalog.Batcher = (*Store)(nil)

type batchKey struct{}

// batch is a write transaction shared by the writes made with its context
// (Store.Batch).
type batch struct {
	s       *Store
	tx      *sql.Tx
	mu      sync.Mutex // writes of a batch run one at a time
	version int64      // the version the batch commits
	writes  int
	// modules remembers moduleVersions by name for the batch's policy
	// writes; a module write in the batch forgets it.
	modules map[string][]catalog.Module
}

// batchOf returns the batch ctx carries for s, if any.
func batchOf(ctx context.Context, s *Store) *batch {
	if b, ok := ctx.Value(batchKey{}).(*batch); ok && b.s == s {
		return b
	}
	return nil
}

// Batch runs fn so that every catalog write it makes through s with the
// context it is given joins one immediate transaction (catalog.Batcher).
// The version is bumped once, at the end, and only when something was
// written; every write keeps its audit entry, all with that version. The
// writer connection is held while fn runs: other writes wait for it (or,
// from another process, for the busy timeout), reads do not.
func (s *Store) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	if batchOf(ctx, s) != nil {
		return errors.New("sqlite: batches do not nest")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT version FROM catalog_version WHERE id = 1").Scan(&v); err != nil {
		return mapErr(err)
	}
	b := &batch{s: s, tx: tx, version: v + 1}
	if err := fn(context.WithValue(ctx, batchKey{}, b)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writes == 0 {
		return nil // nothing written: no version bump (the rollback ends the transaction)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE catalog_version SET version = ? WHERE id = 1", b.version); err != nil {
		return mapErr(err)
	}
	b.writes = -1 // a late write with the batch's context now fails
	return mapErr(tx.Commit())
}

// write is Store.write inside a batch: fn and the audit entry run under a
// savepoint, so a write that fails leaves nothing of itself behind and the
// batch may go on (as a single write outside a batch would).
func (b *batch) write(ctx context.Context, a audit, fn func(tx *sql.Tx) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writes < 0 {
		return errors.New("sqlite: write with the context of a finished batch")
	}
	if _, err := b.tx.ExecContext(ctx, "SAVEPOINT gatehouse_write"); err != nil {
		return mapErr(err)
	}
	if a.entity == "module" {
		b.modules = nil
	}
	err := fn(b.tx)
	if err == nil {
		_, err = b.tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.s.now().UnixNano(), catalog.ActorFrom(ctx), a.action, a.entity, a.id, a.detail, b.version)
	}
	if err != nil {
		_, rerr := b.tx.ExecContext(ctx, "ROLLBACK TO gatehouse_write")
		_, _ = b.tx.ExecContext(ctx, "RELEASE gatehouse_write")
		return mapErr(errors.Join(err, rerr))
	}
	if _, err := b.tx.ExecContext(ctx, "RELEASE gatehouse_write"); err != nil {
		return mapErr(err)
	}
	b.writes++
	return nil
}

// writer is what reads through the writer connection use: the batch's
// transaction inside a batch (the connection is held by it), else the
// writer pool.
func (s *Store) writer(ctx context.Context) interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
} {
	if b := batchOf(ctx, s); b != nil {
		return b.tx
	}
	return s.w
}

// moduleVersionsFor returns how a policy write reads a module's versions:
// moduleVersions, remembered for the rest of the batch inside one. A
// module's row is read past its wasm blob (milliseconds for a real
// module), and an apply sets thousands of policies referencing the same
// few modules. Called from inside a write (batch.mu is held).
func (s *Store) moduleVersionsFor(ctx context.Context) func(context.Context, *sql.Tx, string) ([]catalog.Module, error) {
	b := batchOf(ctx, s)
	if b == nil {
		return func(ctx context.Context, tx *sql.Tx, name string) ([]catalog.Module, error) {
			return moduleVersions(ctx, tx, name)
		}
	}
	return func(ctx context.Context, tx *sql.Tx, name string) ([]catalog.Module, error) {
		if mods, ok := b.modules[name]; ok {
			return mods, nil
		}
		mods, err := moduleVersions(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if b.modules == nil {
			b.modules = map[string][]catalog.Module{}
		}
		b.modules[name] = mods
		return mods, nil
	}
}
