package hostcall

import (
	"github.com/gatehouse/gatehouse/abi"
)

// Env is what a host function needs of its caller beyond the request: the
// calling module's view of plans and attachments, its key namespace and its
// logs. The host's instance implements it; so does the emulator.
type Env interface {
	// Plan returns the plan's attachment ids as u32 LE (get_plan).
	Plan(id uint32) (enc []byte, ok bool)
	// Attachment returns an attachment of the calling module (another
	// module's id is not found).
	Attachment(id uint32) (policy string, config []byte, ok bool)
	// StoredKey returns the key a guest key names in the node-wide stores
	// (the module's namespace, ABI.md §10); ok is false for a key that is
	// empty, over abi.MaxKey bytes or otherwise refused.
	StoredKey(key []byte) (string, bool)
	// Log writes a guest log line (level already checked, msg capped).
	Log(x *Exchange, level int32, msg []byte)
	// BudgetRefused is told once per request and budget that a call was
	// refused for exhausting it (ABI.md §8); the host logs it.
	BudgetRefused(x *Exchange, budget, fn string, have, limit int)
	// BackendRefused is told why a backend URL a policy set was refused.
	BackendRefused(x *Exchange, err error)
}

// Host is the host functions' shared configuration: where the node's
// services are, and the per-request budgets.
type Host struct {
	// Src is read at every host call, so services wired after the host
	// was made (the catalog's subscription lookup) are seen.
	Src     ServiceSource
	Budgets Budgets
}

// ServiceSource gives the node's services as they are now.
type ServiceSource interface {
	HostServices() Services
}

// HostServices implements ServiceSource: the services as they are.
func (s *Services) HostServices() Services { return *s }

// New returns a Host over src with budgets b (zero fields: the abi
// defaults).
func New(src ServiceSource, b Budgets) *Host {
	return &Host{Src: src, Budgets: b.WithDefaults()}
}

func (h *Host) svc() Services { return h.Src.HostServices() }

// Budgets are the per-request limits across a request's whole chain (every
// module, both phases): ABI.md §8.
type Budgets struct {
	AddedHeaders     int // header values stored by set_header/add_header (abi.MaxAddedHeaders)
	AddedHeaderBytes int // their name+value bytes (abi.MaxAddedHeaderBytes)
	Vars             int // variables held (abi.MaxVars)
	VarBytes         int // name+value bytes of all variables (abi.MaxVarBytes)
	HeldSlots        int // concurrency slots held (abi.MaxHeldSlots)
	HeldLeases       int // cache fill leases held (abi.MaxHeldLeases)
}

// WithDefaults fills zero fields with the abi defaults.
func (b Budgets) WithDefaults() Budgets {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&b.AddedHeaders, abi.MaxAddedHeaders)
	def(&b.AddedHeaderBytes, abi.MaxAddedHeaderBytes)
	def(&b.Vars, abi.MaxVars)
	def(&b.VarBytes, abi.MaxVarBytes)
	def(&b.HeldSlots, abi.MaxHeldSlots)
	def(&b.HeldLeases, abi.MaxHeldLeases)
	return b
}

const (
	budgetHeaders uint8 = 1 << iota
	budgetHeaderBytes
	budgetVars
	budgetVarBytes
	budgetSlots
	budgetLeases
)

var budgetNames = map[uint8]string{
	budgetHeaders:     "added headers",
	budgetHeaderBytes: "added header bytes",
	budgetVars:        "variables",
	budgetVarBytes:    "variable bytes",
	budgetSlots:       "concurrency slots held",
	budgetLeases:      "fill leases held",
}

type usage struct {
	headers, headerBytes int
	varBytes             int
	refused              uint8
}

// refuse answers a call over a budget: ErrTooLarge, told to env once per
// request and budget.
func refuse(env Env, x *Exchange, kind uint8, fn string, have, limit int) int32 {
	if x.use.refused&kind == 0 {
		x.use.refused |= kind
		env.BudgetRefused(x, budgetNames[kind], fn, have, limit)
	}
	return abi.ErrTooLarge
}

// BudgetRefusals names the budgets that refused a call of this request.
func (x *Exchange) BudgetRefusals() []string {
	var out []string
	for k := uint8(1); k != 0 && k <= budgetLeases; k <<= 1 {
		if x.use.refused&k != 0 {
			out = append(out, budgetNames[k])
		}
	}
	return out
}

// out applies the buffer convention: the needed length, the bytes written
// only when they fit.
func out(buf, data []byte) int32 {
	if len(data) > abi.MaxResult {
		return abi.ErrTooLarge
	}
	if len(data) <= len(buf) {
		copy(buf, data)
	}
	return int32(len(data))
}

func outString(buf []byte, s string) int32 {
	if len(s) > abi.MaxResult {
		return abi.ErrTooLarge
	}
	if len(s) <= len(buf) {
		copy(buf, s)
	}
	return int32(len(s))
}
