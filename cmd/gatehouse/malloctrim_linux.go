//go:build linux && cgo

package main

/*
#include <stddef.h>
// glibc's malloc_trim, weak: a libc without it (musl) links, and nothing
// is trimmed there.
extern int malloc_trim(size_t pad) __attribute__((weak));
static int gh_malloc_trim(void) { return malloc_trim ? malloc_trim(0) : -1; }
*/
import "C"

// mallocTrim hands the C heap's free pages back to the OS (SQLite's
// freed page caches: glibc keeps them in its arenas otherwise); nothing
// where the C library has no malloc_trim.
func mallocTrim() { C.gh_malloc_trim() }
