package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
)

// moduleRef is a loaded module shared by every snapshot that uses it,
// closed explicitly when the last one lets go (no finalizers).
type moduleRef struct {
	reg  *moduleRegistry
	key  string
	name string
	mod  *engine.Module
	refs int // guarded by reg.mu
}

// retain adds a reference (a snapshot part that runs the module).
func (r *moduleRef) retain() {
	r.reg.mu.Lock()
	r.refs++
	r.reg.mu.Unlock()
}

func (r *moduleRef) release() {
	r.reg.mu.Lock()
	r.refs--
	last := r.refs == 0
	if last {
		delete(r.reg.byKey, r.key)
	}
	r.reg.mu.Unlock()
	if last {
		r.mod.Close(context.Background())
	}
}

type moduleRegistry struct {
	e     *engine.Engine
	mu    sync.Mutex
	byKey map[string]*moduleRef
	// builtinSum is the sha256 of the embedded built-in module, whose bytes
	// never change (the binary's read-only data): hashed once, not at every
	// build (5 MB read back into memory and ≈ 3 ms of CPU per catalog
	// change). Guarded by mu.
	builtinAt  *byte
	builtinLen int
	builtinSum [sha256.Size]byte
	// loadMu serializes loads so two snapshots never compile the same module twice.
	loadMu sync.Mutex
}

func newModuleRegistry(e *engine.Engine) *moduleRegistry {
	return &moduleRegistry{e: e, byKey: map[string]*moduleRef{}}
}

// acquire returns the loaded module for spec, loading it if needed.
func (r *moduleRegistry) acquire(ctx context.Context, spec ModuleSpec) (*moduleRef, error) {
	sum := r.sum(spec)
	key := spec.Name + "@" + hex.EncodeToString(sum[:])
	if spec.trusted {
		key += "+trusted"
	}
	if spec.Namespace != "" {
		key += "+ns:" + spec.Namespace
	}
	if spec.Granted != nil {
		// A module loaded under one grant is not reused under another.
		g := slices.Clone(spec.Granted)
		sort.Strings(g)
		key += "+granted=" + strings.Join(g, ",")
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.Lock()
	if ref, ok := r.byKey[key]; ok {
		ref.refs++
		r.mu.Unlock()
		return ref, nil
	}
	r.mu.Unlock()
	version := spec.Version
	if version == "" {
		version = hex.EncodeToString(sum[:4])
	}
	m, err := r.e.Load(ctx, spec.Name, version, spec.Wasm, engine.LoadOptions{Min: spec.MinInstances, Max: spec.MaxInstances, Trusted: spec.trusted,
		Namespace: spec.Namespace, Builtin: spec.builtin, Granted: spec.Granted})
	if err != nil {
		return nil, err
	}
	ref := &moduleRef{reg: r, key: key, name: spec.Name, mod: m, refs: 1}
	r.mu.Lock()
	r.byKey[key] = ref
	r.mu.Unlock()
	return ref, nil
}

// sum is sha256(spec.Wasm), remembered for the built-in module's bytes.
func (r *moduleRegistry) sum(spec ModuleSpec) [sha256.Size]byte {
	if !spec.builtin || len(spec.Wasm) == 0 {
		return sha256.Sum256(spec.Wasm)
	}
	at := unsafe.SliceData(spec.Wasm)
	r.mu.Lock()
	if r.builtinAt == at && r.builtinLen == len(spec.Wasm) {
		s := r.builtinSum
		r.mu.Unlock()
		return s
	}
	r.mu.Unlock()
	s := sha256.Sum256(spec.Wasm)
	r.mu.Lock()
	r.builtinAt, r.builtinLen, r.builtinSum = at, len(spec.Wasm), s
	r.mu.Unlock()
	return s
}

// loaded returns the modules currently loaded (for metrics and tests).
func (r *moduleRegistry) loaded() []*engine.Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*engine.Module, 0, len(r.byKey))
	for _, ref := range r.byKey {
		out = append(out, ref.mod)
	}
	return out
}

// knownCapability reports whether name is an ABI capability group.
func knownCapability(name string) bool {
	for _, f := range abi.HostFuncs() {
		if f.Cap == name {
			return true
		}
	}
	return false
}
