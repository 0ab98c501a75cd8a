package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// LoadOptions bound a module version's instance pool and choose its runtime.
type LoadOptions struct {
	// Trusted runs the module without loop termination checks: much faster,
	// but a guest stuck in a loop cannot be stopped (its call fails only if
	// it returns). Only for modules built from this repository (built-ins).
	Trusted bool
	// Min instances are made at load and kept warm (1).
	Min int
	// Max instances may exist at once; a call waits for one when all are busy (4).
	Max int

	// Namespace is the namespace the host prefixes to every cache, counter,
	// semaphore and fill-lease key this module uses; "" = the module's name
	// (not its version: counters and cache entries survive an upgrade). Two
	// modules share state only when an admin gives them the same Namespace;
	// never take it from the module's own manifest. 1–abi.MaxNamespace bytes,
	// no NUL.
	Namespace string
	// Builtin gives the module the built-in namespace: keys stored as the
	// guest wrote them, unreachable by any other module. Only for the
	// embedded built-in module (Namespace must be empty).
	Builtin bool
	// MaxPerAPI is how many instances one API may hold at once (borrowed
	// for a call), so that one API cannot take the whole pool: 0 = Max-1
	// when Max > 1 (one instance is always left for the other APIs), else 1.
	MaxPerAPI int
	// Granted lists the capability groups (abi.Cap*) an admin granted the
	// module; nil means not enforced (the built-in module, YAML mode). Load
	// fails, naming each host function and its group, when the module
	// imports a function of a group not granted.
	Granted []string
}

// Trusted reports whether the module runs without loop termination checks.
func (m *Module) Trusted() bool { return m.trusted }

func (p LoadOptions) withDefaults() LoadOptions {
	if p.Min <= 0 {
		p.Min = 1
	}
	if p.Max <= 0 {
		p.Max = 4
	}
	if p.Max < p.Min {
		p.Max = p.Min
	}
	if p.MaxPerAPI <= 0 {
		p.MaxPerAPI = max(1, p.Max-1)
	}
	if p.MaxPerAPI > p.Max {
		p.MaxPerAPI = p.Max
	}
	return p
}

// Attachment is one use of a policy with its config. Its id is never reused
// within a module, so guests may cache what they parsed from it.
type Attachment struct {
	ID     uint32
	Policy string
	Config []byte
	refs   int // Attach calls not yet released (under Module.regMu)
}

// Plan is an ordered list of attachments of one module run in one call.
type Plan struct {
	ID          uint32
	Attachments []uint32
	// skip[phase] is set once the guest says no policy in the plan handles it.
	skip [2]atomic.Bool
	enc  []byte
}

// Module is one loaded, validated module version with its instance pool.
type Module struct {
	e       *Engine
	Name    string
	Version string
	SHA256  string
	info    *Info
	cm      wazero.CompiledModule
	// releaseCM drops this module's reference to the shared compiled code
	// (compiled.go).
	releaseCM func()
	rt        wazero.Runtime
	trusted   bool
	pool      *pool
	log       *guestLog
	// budgetLog reports refusals by the host (budgets), rate-limited apart
	// from the guest's own output so a guest cannot drown them.
	budgetLog *guestLog
	ns        string
	nsPrefix  []byte // nil: the built-in namespace (keys unprefixed)
	// data is the address range the data segments write at instantiation
	// (wasmcheck.DataSpan): made resident in one call before wazero
	// copies the data in (linmem.go).
	data [2]uint64

	// atts and plans are read by guest calls (by id) without a lock and
	// written per registration: sync.Map, not a copy-on-write map, whose
	// copy per Attach/NewPlan made a snapshot build quadratic in its size.
	regMu sync.Mutex
	atts  sync.Map // uint32 → *Attachment
	plans sync.Map // uint32 → *Plan
	// suffixes are the fill-wait re-run plans made by SuffixPlan (rerun.go),
	// released with the plan they are a suffix of.
	suffixes map[suffixKey]*Plan
	// shared are the registered attachments by policy and config: equal
	// attachments are one (one id, one parsed config in each guest
	// instance), however many APIs and operations attach them.
	shared  map[string]*Attachment
	nextID  uint32
	closed  atomic.Bool
	closeMu sync.Mutex
}

// Load compiles, validates and warms a module version. Every failure wraps
// ErrInvalidModule and names what is wrong.
func (e *Engine) Load(ctx context.Context, name, version string, bin []byte, po LoadOptions) (*Module, error) {
	if err := precheck(bin); err != nil {
		return nil, err
	}
	ns, nsPrefix, err := namespacePrefix(name, po)
	if err != nil {
		return nil, invalid("namespace: %v", err)
	}
	rt := e.rt
	if po.Trusted {
		rt = e.rtTrusted
	}
	sum := sha256.Sum256(bin)
	cm, release, err := e.compile(ctx, bin, sum, po.Trusted, 1)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("loading module %s: %w", name, ctx.Err()) // stopped, not invalid
		}
		return nil, invalid("%v", err)
	}
	info, err := inspect(cm, bin, e.opts.HardMemoryPages)
	if err != nil {
		release()
		return nil, err
	}
	info.Size = len(bin)
	if err := checkGranted(info, po.Granted); err != nil {
		release()
		return nil, err
	}
	m := &Module{
		e: e, Name: name, Version: version, SHA256: hex.EncodeToString(sum[:]),
		info: info, cm: cm, releaseCM: release, rt: rt, trusted: po.Trusted,
		log:       newGuestLog(e.log, name+"@"+version, e.opts.GuestLogRate),
		budgetLog: newGuestLog(e.log, name+"@"+version, e.opts.GuestLogRate),
		ns:        ns, nsPrefix: nsPrefix,
	}
	m.data[0], m.data[1] = wasmcheck.DataSpan(bin)
	m.pool = newPool(m, po.withDefaults())
	// One instance eagerly: a module that cannot start, or whose marker says
	// a newer minor, fails here and not on the first request.
	// Both run under the init deadline: a guest looping in _initialize or
	// in its marker fails the load instead of wedging the loader.
	inst, err := m.newInstance(ctx)
	if err != nil {
		release()
		return nil, invalid("instantiate: %v", err)
	}
	minor, err := inst.abiMinor(ctx)
	if err != nil {
		inst.close(ctx)
		release()
		return nil, invalid("calling %s: %v", abi.ExportVersion, m.initErr(err))
	}
	if minor < 0 || minor > int32(abiMinor()) {
		inst.close(ctx)
		release()
		return nil, invalid("module is built for ABI v1.%d; this host speaks up to v1.%d", minor, abiMinor())
	}
	info.ABIMinor = int(minor)
	m.pool.start(ctx, inst)
	e.modsMu.Lock()
	e.mods[m] = struct{}{}
	e.modsMu.Unlock()
	return m, nil
}

// Info returns what validation learned about the module.
func (m *Module) Info() *Info { c := *m.info; return &c }

// Attach registers an attachment (policy name + config) and returns it.
//
// Equal attachments (same policy, same config bytes) are shared: Attach
// returns the registered one while any plan still holds it, so 10,000
// APIs with the same policy and config cost one attachment and one parsed
// config per guest instance. Each Attach is undone by the release of one
// plan occurrence of the attachment (Release): an attachment used by two
// plans is attached twice.
func (m *Module) Attach(policy string, config []byte) *Attachment {
	if len(config) == 0 {
		config = []byte("{}")
	}
	key := policy + "\x00" + string(config)
	m.regMu.Lock()
	defer m.regMu.Unlock()
	if a := m.shared[key]; a != nil {
		a.refs++
		return a
	}
	m.nextID++
	a := &Attachment{ID: m.nextID, Policy: policy, Config: append([]byte(nil), config...), refs: 1}
	m.atts.Store(a.ID, a)
	if m.shared == nil {
		m.shared = map[string]*Attachment{}
	}
	m.shared[key] = a
	return a
}

// NewPlan registers a plan over attachments of this module.
func (m *Module) NewPlan(atts ...*Attachment) (*Plan, error) {
	m.regMu.Lock()
	defer m.regMu.Unlock()
	p := &Plan{}
	for _, a := range atts {
		if m.attachment(a.ID) != a {
			return nil, fmt.Errorf("engine: attachment %d does not belong to module %s", a.ID, m.Name)
		}
		p.Attachments = append(p.Attachments, a.ID)
		p.enc = append(p.enc, byte(a.ID), byte(a.ID>>8), byte(a.ID>>16), byte(a.ID>>24))
	}
	m.nextID++
	p.ID = m.nextID
	m.plans.Store(p.ID, p)
	return p, nil
}

// Release forgets plans and attachments (when a catalog generation closes).
func (m *Module) Release(plans []*Plan) {
	m.regMu.Lock()
	defer m.regMu.Unlock()
	for _, p := range plans {
		m.plans.Delete(p.ID)
		for k, sp := range m.suffixes {
			if k.plan == p.ID {
				m.plans.Delete(sp.ID)
				delete(m.suffixes, k)
			}
		}
		for _, id := range p.Attachments {
			a := m.attachment(id)
			if a == nil {
				continue
			}
			if a.refs--; a.refs <= 0 {
				m.atts.Delete(id)
				delete(m.shared, a.Policy+"\x00"+string(a.Config))
			}
		}
	}
}

// PlanAttachments returns the registered attachments of p in order, nil
// for one no longer registered (tests and diagnostics).
func (m *Module) PlanAttachments(p *Plan) []*Attachment {
	out := make([]*Attachment, len(p.Attachments))
	for i, id := range p.Attachments {
		out[i] = m.attachment(id)
	}
	return out
}

// Registered counts the attachments and plans registered and not yet
// released (tests: a released snapshot leaves nothing behind).
func (m *Module) Registered() (attachments, plans int) {
	m.atts.Range(func(any, any) bool { attachments++; return true })
	m.plans.Range(func(any, any) bool { plans++; return true })
	return
}

func (m *Module) attachment(id uint32) *Attachment {
	if v, ok := m.atts.Load(id); ok {
		return v.(*Attachment)
	}
	return nil
}

func (m *Module) plan(id uint32) *Plan {
	if v, ok := m.plans.Load(id); ok {
		return v.(*Plan)
	}
	return nil
}

// PoolExhaustions is how many calls found no instance before their queue
// timeout (each failed closed: ErrNoInstance).
func (m *Module) PoolExhaustions() int64 { return m.pool.exhausted.Load() }

// PoolStats reports the pool's size.
func (m *Module) PoolStats() (idle, total int) { return m.pool.stats() }

// Close discards every instance and the compiled code. Calls in flight
// finish; their instances are closed when returned.
func (m *Module) Close(ctx context.Context) {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if !m.closed.CompareAndSwap(false, true) {
		return
	}
	m.pool.close(ctx)
	m.releaseCM()
	m.e.modsMu.Lock()
	delete(m.e.mods, m)
	m.e.modsMu.Unlock()
}
