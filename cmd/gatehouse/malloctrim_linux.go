//go:build linux && cgo

package main

/*
#include <stddef.h>
// glibc's malloc_trim and mallopt, weak: a libc without them (musl)
// links, and nothing is trimmed or tuned there.
extern int malloc_trim(size_t pad) __attribute__((weak));
extern int mallopt(int param, int value) __attribute__((weak));
static int gh_malloc_trim(void) { return malloc_trim ? malloc_trim(0) : -1; }
// One arena for the C heap (mallocOneArena below), set as the binary is
// loaded: glibc fixes its arena limit at the first arena a thread makes,
// and the Go runtime's threads exist before main. M_ARENA_MAX is glibc's
// -8 (malloc.h); musl's mallopt ignores it.
__attribute__((constructor)) static void gh_malloc_one_arena(void) { if (mallopt) mallopt(-8, 1); }

// For the test: how many arenas malloc_info lists, and a malloc from the
// calling thread.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
extern int malloc_info(int options, FILE *stream) __attribute__((weak));
static int gh_arenas(void) {
	if (!malloc_info) return -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) return -1;
	malloc_info(0, f);
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) n++;
	free(buf);
	return n;
}
static void gh_malloc_here(void) { free(malloc(64)); }
*/
import "C"

// mallocTrim hands the C heap's free pages back to the OS (SQLite's
// freed page caches: glibc keeps them in its arenas otherwise); nothing
// where the C library has no malloc_trim.
func mallocTrim() { C.gh_malloc_trim() }

// The C constructor above makes glibc keep the C heap in one arena
// instead of one per thread that calls into C (up to 8 per core). Only
// SQLite allocates there, from whichever thread runs its goroutine; with
// an arena per thread a first start left ≈ 2.5 MiB of freed page caches
// scattered over arenas where malloc_trim could not return them
// (RATIONALE.md "What the idle process keeps"). SQLite is not on the
// per-request path (the request log writes batches from one goroutine),
// so the one arena's lock is not contended.

// cArenas is how many arenas glibc's C heap has (-1 where malloc_info is
// missing); mallocHere mallocs and frees from the calling thread.
func cArenas() int { return int(C.gh_arenas()) }
func mallocHere()  { C.gh_malloc_here() }
