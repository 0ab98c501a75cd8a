//go:build !cgo

package sqlite

// MemoryUsed: without cgo there is no SQLite (go-sqlite3 needs it).
func MemoryUsed() int64 { return -1 }
