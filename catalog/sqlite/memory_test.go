package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestShrinkIdle: after a start's worth of reads and writes, ShrinkMemory
// hands back most of what the connections' page caches hold, opens no
// connection, and leaves a connection in use alone.
func TestShrinkIdle(t *testing.T) {
	ctx := context.Background()
	s, err := OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Fill the page caches: a few MB written, then read on three readers.
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 64<<10)
	for range 64 {
		rand.Read(blob)
		if _, err := s.w.ExecContext(ctx, `INSERT INTO filler (b) VALUES (?)`, blob); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func(c *sql.Conn) {
		var n int64
		if err := c.QueryRowContext(ctx, `SELECT sum(length(b)) FROM filler`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	var conns []*sql.Conn
	for range 3 {
		c, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		readAll(c)
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	busy, err := s.r.Conn(ctx) // in use during the shrink
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	before, open := MemoryUsed(), s.r.Stats().OpenConnections
	if before < 0 {
		t.Fatal("sqlite3_status64 failed")
	}
	done := make(chan error, 1)
	go func() { done <- s.ShrinkMemory(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ShrinkMemory waited for the connection in use")
	}
	after := MemoryUsed()
	t.Logf("SQLite memory: %d KiB before, %d KiB after (readers open: %d)", before>>10, after>>10, open)
	if before < 2<<20 {
		t.Fatalf("the caches hold only %d KiB: the test fills nothing", before>>10)
	}
	if after > before/2 {
		t.Errorf("ShrinkMemory freed %d of %d KiB", (before-after)>>10, before>>10)
	}
	if got := s.r.Stats().OpenConnections; got != open {
		t.Errorf("%d reader connections open after ShrinkMemory, %d before", got, open)
	}
	readAll(busy) // the connection in use still works
}
