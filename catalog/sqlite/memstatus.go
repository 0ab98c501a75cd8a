//go:build cgo

package sqlite

/*
// SQLite's own counters (the amalgamation is built by mattn/go-sqlite3).
extern int sqlite3_status64(int op, long long *current, long long *highwater, int reset);
static long long gh_sqlite_memory_used(void) {
	long long cur = 0, hi = 0;
	// op 0: SQLITE_STATUS_MEMORY_USED
	if (sqlite3_status64(0, &cur, &hi, 0) != 0) return -1;
	return cur;
}
*/
import "C"

// MemoryUsed is the memory SQLite has allocated in this process, over all
// its connections (sqlite3_status64 SQLITE_STATUS_MEMORY_USED), or -1.
func MemoryUsed() int64 { return int64(C.gh_sqlite_memory_used()) }
