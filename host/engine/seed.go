package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A seed is wazero's compilation-cache entry for one module, made at build
// time (`make` runs cmd/builtinseed, which calls BuildSeed) and embedded in
// the binary, so that the first start of a fresh data dir reads compiled
// code instead of compiling the built-in module (≈2–3 s of CPU): see
// RATIONALE.md "A precompiled built-in module". Seeding only ever writes a
// file wazero would have written itself, under the name wazero looks for;
// wazero's key covers the module bytes, the runtime's termination checks,
// the CPU's features and (its directory) the wazero version, so a seed
// from another build, CPU or wazero is simply not found, and the module is
// compiled as without a seed. A seed that is found but unreadable (a torn
// write, a corrupt binary) is removed and the module compiled (compile).
//
// Format: seedMagic, a big-endian uint32 length, the JSON seedHeader of
// that length, then the entry compressed with zstd (whose frame checksum
// catches corruption before anything is written).

const seedMagic = "GATEHOUSE-SEED-1\n"

// maxSeedEntry bounds the entry a seed may expand to (the built-in
// module's is ≈19 MB).
const maxSeedEntry = 256 << 20

type seedHeader struct {
	Wazero string `json:"wazero"` // wazero version (the cache dir's name has it)
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	Module string `json:"module"`  // hex sha256 of the module's bytes
	Trust  bool   `json:"trusted"` // compiled for the trusted runtime (no termination checks)
	Entry  string `json:"entry"`   // the entry's file name: wazero's hex key
	Size   int64  `json:"size"`    // the entry's length
}

// ErrSeedMismatch: the seed was made for other module bytes, another
// runtime, platform or wazero version; the module compiles as usual.
var ErrSeedMismatch = errors.New("seed does not fit")

// wazeroVersion is the version wazero names its cache dir after: its
// module's version in the build info, or "dev" (wazero's
// internal/version, which test binaries and builds without module
// information get).
var wazeroVersion = sync.OnceValue(func() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if strings.Contains(d.Path, "github.com/tetratelabs/wazero") {
				v = d.Version
			}
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
})

// cacheSubdir is the directory inside a compilation cache dir where this
// build's wazero keeps its entries.
func cacheSubdir(dir string) string {
	return filepath.Join(dir, "wazero-"+wazeroVersion()+"-"+runtime.GOARCH+"-"+runtime.GOOS)
}

// BuildSeed compiles bin as the engine compiles it (on the trusted or the
// guarded runtime, with New's runtime configuration) into an empty
// compilation cache and returns that cache's entry as a seed.
func BuildSeed(ctx context.Context, bin []byte, trusted bool) ([]byte, error) {
	if err := precheck(bin); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-seed-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e, err := New(ctx, Options{CacheDir: dir})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bin)
	_, release, err := e.compile(ctx, bin, sum, trusted, runtime.GOMAXPROCS(0))
	if err != nil {
		e.Close(ctx)
		return nil, fmt.Errorf("compiling: %w", err)
	}
	release()
	if err := e.Close(ctx); err != nil {
		return nil, err
	}
	sub := cacheSubdir(dir)
	ents, err := os.ReadDir(sub)
	if err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	if len(ents) != 1 || !validEntryName(ents[0].Name()) {
		return nil, fmt.Errorf("compilation cache: want one entry in %s, found %d", sub, len(ents))
	}
	entry, err := os.ReadFile(filepath.Join(sub, ents[0].Name()))
	if err != nil {
		return nil, err
	}
	return encodeSeed(seedHeader{Wazero: wazeroVersion(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		Module: hex.EncodeToString(sum[:]), Trust: trusted, Entry: ents[0].Name(), Size: int64(len(entry))}, entry)
}

func encodeSeed(h seedHeader, entry []byte) ([]byte, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(seedMagic)
	_ = binary.Write(&out, binary.BigEndian, uint32(len(hj)))
	out.Write(hj)
	zw, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(entry); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// SeedEntry returns the name of the compilation-cache entry seed holds
// (wazero's hex key) and the entry's length.
func SeedEntry(seed []byte) (name string, size int64, err error) {
	h, _, err := parseSeed(seed)
	return h.Entry, h.Size, err
}

// validEntryName: wazero's entries are named by a hex sha256 (and a seed
// must not name a path outside the cache dir).
func validEntryName(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// parseSeed reads the header of a seed and returns it with the
// compressed entry.
func parseSeed(seed []byte) (seedHeader, []byte, error) {
	var h seedHeader
	if !bytes.HasPrefix(seed, []byte(seedMagic)) || len(seed) < len(seedMagic)+4 {
		return h, nil, errors.New("not a seed (no header)")
	}
	rest := seed[len(seedMagic):]
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n) > uint64(len(rest)) || n > 4096 {
		return h, nil, errors.New("seed header truncated")
	}
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return h, nil, fmt.Errorf("seed header: %v", err)
	}
	if !validEntryName(h.Entry) || h.Size <= 0 || h.Size > maxSeedEntry {
		return h, nil, errors.New("seed header: bad entry name or size")
	}
	return h, rest[n:], nil
}

// seedCache writes seed's entry into the engine's compilation cache dir if
// the seed was made for bin (sum) on this runtime, platform and wazero,
// and the entry is not there yet. It returns the path it wrote ("" when
// the entry was already there). Nothing is left behind on an error.
func (e *Engine) seedCache(seed []byte, sum [sha256.Size]byte, trusted bool) (string, error) {
	if e.opts.CacheDir == "" {
		return "", errors.New("no compilation cache dir")
	}
	h, z, err := parseSeed(seed)
	if err != nil {
		return "", err
	}
	switch {
	case h.Module != hex.EncodeToString(sum[:]):
		return "", fmt.Errorf("%w: made for other module bytes", ErrSeedMismatch)
	case h.Trust != trusted:
		return "", fmt.Errorf("%w: made for the other runtime (trusted %v)", ErrSeedMismatch, h.Trust)
	case h.GOOS != runtime.GOOS || h.GOARCH != runtime.GOARCH:
		return "", fmt.Errorf("%w: made for %s/%s", ErrSeedMismatch, h.GOOS, h.GOARCH)
	case h.Wazero != wazeroVersion():
		return "", fmt.Errorf("%w: made by wazero %s, this is %s", ErrSeedMismatch, h.Wazero, wazeroVersion())
	}
	sub := cacheSubdir(e.opts.CacheDir)
	dst := filepath.Join(sub, h.Entry)
	// From here on a compile that fails on this entry removes it and
	// compiles (an entry of this name may be a torn earlier seeding).
	e.noteSeeded(compiledKey{sum, trusted}, dst)
	if _, err := os.Stat(dst); err == nil {
		return "", nil
	}
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(sub, h.Entry+".*.seed")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	zr, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxSeedEntry))
	if err != nil {
		return "", err
	}
	defer zr.Close()
	n, err := io.Copy(f, io.LimitReader(zr, h.Size+1))
	if err != nil {
		return "", fmt.Errorf("seed entry: %v", err)
	}
	if n != h.Size {
		return "", fmt.Errorf("seed entry: %d bytes, header says %d", n, h.Size)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	// Not synced: a torn entry after a crash is caught by wazero's own
	// checksum and then removed and compiled (compile).
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", err
	}
	ok = true
	return dst, nil
}

func (e *Engine) noteSeeded(k compiledKey, path string) {
	e.compMu.Lock()
	defer e.compMu.Unlock()
	if e.seeded == nil {
		e.seeded = map[compiledKey]string{}
	}
	e.seeded[k] = path
}

// takeSeeded returns (once) the cache entry a seed wrote or found for k.
func (e *Engine) takeSeeded(k compiledKey) string {
	e.compMu.Lock()
	defer e.compMu.Unlock()
	p := e.seeded[k]
	delete(e.seeded, k)
	return p
}

// SeedStats says what the engine's seeds did: entries written, seeds that
// did not fit (or were unreadable), seeded entries wazero refused (removed
// and compiled instead).
type SeedStats struct{ Written, Skipped, Refused int64 }
