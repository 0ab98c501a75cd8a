package hostcall

import "github.com/gatehouse/gatehouse/abi"

// Capability vars (ABI.md §5 "vars").

// GetVar is get_var.
func (h *Host) GetVar(env Env, x *Exchange, name, buf []byte) int32 {
	v, ok := x.vars[string(name)]
	if !ok {
		return abi.ErrNotFound
	}
	return outString(buf, v)
}

// SetVar is set_var.
func (h *Host) SetVar(env Env, x *Exchange, name, val []byte) int32 {
	switch {
	case len(name) == 0 || len(name) > abi.MaxVarName:
		return abi.ErrInvalid
	case len(val) > abi.MaxVarValue:
		return abi.ErrTooLarge
	}
	old, exists := x.vars[string(name)]
	if exists && old == string(val) {
		return abi.OK
	}
	b := &h.Budgets
	if !exists && len(x.vars) >= b.Vars {
		return refuse(env, x, budgetVars, abi.FnSetVar, len(x.vars), b.Vars)
	}
	n := x.use.varBytes + len(name) + len(val)
	if exists {
		n -= len(name) + len(old)
	}
	if n > b.VarBytes {
		return refuse(env, x, budgetVarBytes, abi.FnSetVar, n, b.VarBytes)
	}
	x.SetVar(x.intern(name), x.intern(val)) // a name (and a value) set again: no allocation
	return abi.OK
}
