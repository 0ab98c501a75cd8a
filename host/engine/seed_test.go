package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/gatehouse/gatehouse/host/hosttest"
)

// seedFixture is the probe module and its seed for the guarded runtime,
// made once for the tests below.
type seedFixture struct {
	bin, seed []byte
	sum       [sha256.Size]byte
	h         seedHeader
	entry     []byte // the uncompressed cache entry
}

func newSeedFixture(t *testing.T) *seedFixture {
	t.Helper()
	bin := hosttest.Probe(t)
	seed, err := BuildSeed(context.Background(), bin, false)
	if err != nil {
		t.Fatal(err)
	}
	h, z, err := parseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entry, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(entry)) != h.Size || h.Trust || h.Module != hexSum(bin) || h.Wazero != wazeroVersion() {
		t.Fatalf("seed header %+v for a %d-byte entry", h, len(entry))
	}
	return &seedFixture{bin: bin, seed: seed, sum: sha256.Sum256(bin), h: h, entry: entry}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func seedEngine(t *testing.T) (*Engine, string) {
	t.Helper()
	dir := t.TempDir()
	e, err := New(context.Background(), Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, dir
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// load loads the probe through the shared compile path and fails the test
// if it does not load (instantiation runs its compiled code).
func (f *seedFixture) load(t *testing.T, e *Engine) {
	t.Helper()
	m, err := e.Load(context.Background(), "probe", "1.0.0", f.bin, LoadOptions{Min: 1, Max: 1})
	if err != nil {
		t.Fatalf("load after seeding: %v", err)
	}
	m.Close(context.Background())
}

// TestSeedIsReadNotCompiled: a seed writes wazero's own entry under
// wazero's name, and the compile that follows reads it: wazero replaces
// an entry (write to a temporary file, rename) only when it compiled, so
// the file seeding made is still the same file after the load.
func TestSeedIsReadNotCompiled(t *testing.T) {
	f := newSeedFixture(t)
	e, dir := seedEngine(t)
	path, err := e.seedCache(f.seed, f.sum, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cacheSubdir(dir), f.h.Entry); path != want {
		t.Fatalf("seeded %s, want %s", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, f.entry) {
		t.Fatalf("the seeded entry differs from the seed's (%v)", err)
	}
	ino := inode(t, path)
	f.load(t, e)
	if inode(t, path) != ino {
		t.Fatal("wazero rewrote the seeded entry: the compile did not read it")
	}
	// Seeding again leaves the entry alone.
	if again, err := e.seedCache(f.seed, f.sum, false); err != nil || again != "" || inode(t, path) != ino {
		t.Fatalf("a second seeding: path %q, err %v", again, err)
	}
	// Nothing but the entry in the cache dir (no temporary files).
	ents, _ := os.ReadDir(cacheSubdir(dir))
	if len(ents) != 1 {
		t.Fatalf("%d files in the cache dir, want the entry only", len(ents))
	}
}

// TestSeedPrecompileSeeded: the seeded Precompile writes the entry once,
// and a Load of the same bytes uses that compile.
func TestSeedPrecompileSeeded(t *testing.T) {
	f := newSeedFixture(t)
	e, dir := seedEngine(t)
	release := e.PrecompileSeeded(f.bin, f.seed, false)
	f.load(t, e)
	release()
	if st := e.SeedStats(); st != (SeedStats{Written: 1}) {
		t.Fatalf("seed stats %+v, want one written", st)
	}
	if _, err := os.Stat(filepath.Join(cacheSubdir(dir), f.h.Entry)); err != nil {
		t.Fatal(err)
	}
	if _, n := e.CompileStats(); n != 1 {
		t.Fatalf("%d compiles, want 1", n)
	}
}

// TestSeedBadSeeds: a seed that is corrupt, truncated or made for other
// bytes, runtime, platform or wazero writes nothing, and the module still
// loads (compiled).
func TestSeedBadSeeds(t *testing.T) {
	f := newSeedFixture(t)
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x5a
		return c
	}
	reheader := func(mod func(*seedHeader)) []byte {
		h := f.h
		mod(&h)
		s, err := encodeSeed(h, f.entry)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name    string
		seed    []byte
		trusted bool
		want    string
	}{
		{"empty", []byte{}, false, "not a seed"},
		{"garbage", []byte("not a seed at all, just bytes"), false, "not a seed"},
		{"the module instead", f.bin, false, "not a seed"},
		{"truncated header", f.seed[:len(seedMagic)+10], false, "truncated"},
		{"truncated entry", f.seed[:len(f.seed)-len(f.seed)/3], false, "seed entry"},
		{"a byte flipped in the entry", flip(f.seed, len(f.seed)-len(f.seed)/2), false, "seed entry"},
		{"a byte flipped in the checksum", flip(f.seed, len(f.seed)-2), false, "seed entry"},
		{"other module bytes", reheader(func(h *seedHeader) { h.Module = strings.Repeat("0", 64) }), false, "other module bytes"},
		{"the trusted runtime's seed on the guarded", f.seed, true, "other runtime"},
		{"another wazero", reheader(func(h *seedHeader) { h.Wazero = "v0.0.1" }), false, "wazero v0.0.1"},
		{"another platform", reheader(func(h *seedHeader) { h.GOARCH = "riscv64" }), false, "made for"},
		{"an entry name outside the cache", reheader(func(h *seedHeader) { h.Entry = "../../../../tmp/x" }), false, "bad entry"},
		{"an entry name not hex", reheader(func(h *seedHeader) { h.Entry = strings.Repeat("g", 64) }), false, "bad entry"},
		{"a size that lies", reheader(func(h *seedHeader) { h.Size-- }), false, "header says"},
		{"a huge size", reheader(func(h *seedHeader) { h.Size = 1 << 40 }), false, "bad entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, dir := seedEngine(t)
			sum := f.sum
			path, err := e.seedCache(c.seed, sum, c.trusted)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("seedCache: path %q, err %v; want an error with %q", path, err, c.want)
			}
			if strings.Contains(c.want, "other") || strings.Contains(c.want, "made") || strings.Contains(c.want, "wazero") {
				if !errors.Is(err, ErrSeedMismatch) {
					t.Fatalf("%v is not ErrSeedMismatch", err)
				}
			}
			if ents, _ := os.ReadDir(cacheSubdir(dir)); len(ents) != 0 {
				t.Fatalf("a bad seed left %d files in the cache dir", len(ents))
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
				t.Fatal("a seed wrote outside the cache dir")
			}
			if c.name == "a byte flipped in the entry" || c.name == "other module bytes" {
				f.load(t, e) // compiles
			}
		})
	}
}

// TestSeedRefusedByWazero: a seed intact as a seed whose entry wazero
// cannot read (its own checksum fails: what a torn earlier seeding leaves)
// is removed and the module compiled; the entry wazero then writes is its
// own.
func TestSeedRefusedByWazero(t *testing.T) {
	f := newSeedFixture(t)
	bad := bytes.Clone(f.entry)
	bad[len(bad)/2] ^= 0xff // inside the native code: wazero's crc32 fails
	seed, err := encodeSeed(f.h, bad)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"seeded now", "left by an earlier start"} {
		t.Run(name, func(t *testing.T) {
			e, dir := seedEngine(t)
			path := filepath.Join(cacheSubdir(dir), f.h.Entry)
			if name == "left by an earlier start" {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, bad, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			release := e.PrecompileSeeded(f.bin, seed, false)
			f.load(t, e)
			release()
			if st := e.SeedStats(); st.Refused != 1 {
				t.Fatalf("seed stats %+v, want one refused", st)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, f.entry) {
				t.Fatal("the entry after the recompile is not wazero's own")
			}
		})
	}
}
