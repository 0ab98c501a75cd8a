// Package engine runs Gatehouse policy modules: one wazero runtime with an
// on-disk compilation cache, load-time validation of a module against ABI v1,
// a bounded pre-warmed instance pool per module version, per-call deadlines
// and memory limits, and the host functions of abi/ABI.md.
//
// The engine knows nothing about routing or proxying. The gateway hands it an
// Exchange (the request/response state a host function may touch) for the
// length of one phase call; instances are never held across backend I/O.
package engine
