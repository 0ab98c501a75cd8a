package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// ShrinkIdle asks SQLite to free what each idle connection of db holds
// beyond what it needs (`PRAGMA shrink_memory`: the page cache, mostly). A
// start reads and writes more pages than an idle gateway touches again —
// migrations, the seed, the first catalog load — and each connection keeps
// up to 2 MiB of them; they come back as they are read. Connections in use
// are left alone: ShrinkIdle takes only as many as are idle now, and gives
// up when ctx ends.
func ShrinkIdle(ctx context.Context, db *sql.DB) error {
	n := db.Stats().Idle
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var errs []error
	for range n {
		c, err := db.Conn(ctx) // held until all are taken: each is another connection
		if err != nil {
			errs = append(errs, err)
			break
		}
		conns = append(conns, c)
		if _, err := c.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ShrinkMemory is ShrinkIdle on the store's writer and reader pools.
func (s *Store) ShrinkMemory(ctx context.Context) error {
	return errors.Join(ShrinkIdle(ctx, s.w), ShrinkIdle(ctx, s.r))
}
