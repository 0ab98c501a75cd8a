package engine

import (
	"fmt"
	"log/slog"

	"github.com/gatehouse/gatehouse/abi"
)

// Budgets are the per-request limits the host enforces across a request's
// whole chain (every module, both phases). A host call over a budget stores
// nothing and answers abi.ErrTooLarge; the gateway log names the budget,
// the module and the request (once per request and budget, rate-limited per
// module apart from the guest's own log lines). Zero fields take the
// abi.Max* defaults.
type Budgets struct {
	AddedHeaders     int // header values stored by set_header/add_header (abi.MaxAddedHeaders)
	AddedHeaderBytes int // their name+value bytes (abi.MaxAddedHeaderBytes)
	Vars             int // variables held (abi.MaxVars)
	VarBytes         int // name+value bytes of all variables (abi.MaxVarBytes)
	HeldSlots        int // concurrency slots held (abi.MaxHeldSlots)
	HeldLeases       int // cache fill leases held (abi.MaxHeldLeases)
}

func (b Budgets) withDefaults() Budgets {
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

// budget kinds, one bit each in usage.refused (log once per request).
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

// usage is what a request has taken of its budgets.
type usage struct {
	headers, headerBytes int
	varBytes             int
	refused              uint8
}

// refuse logs, once per request and budget, that a host call of the
// instance's module was refused, and answers the status to return.
func (inst *instance) refuse(ex *Exchange, kind uint8, fn string, have, limit int) int32 {
	if ex.use.refused&kind == 0 {
		ex.use.refused |= kind
		msg := fmt.Sprintf("host refused %s: request budget %q exhausted (%d, limit %d); further refusals of this request are not logged", fn, budgetNames[kind], have, limit)
		inst.m.budgetLog.line(slog.LevelWarn, "budget", msg, ex.RequestID)
	}
	return abi.ErrTooLarge
}

// BudgetRefusals reports which budgets refused a host call during the
// request (names, for logs and tests).
func (x *Exchange) BudgetRefusals() []string {
	var out []string
	for k := uint8(1); k != 0 && k <= budgetLeases; k <<= 1 {
		if x.use.refused&k != 0 {
			out = append(out, budgetNames[k])
		}
	}
	return out
}
