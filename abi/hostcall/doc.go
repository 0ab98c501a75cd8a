// Package hostcall is the behaviour of every Gatehouse host function
// (abi/ABI.md §5) as plain Go over an exchange and byte slices: one copy of
// the rules — phases, validation, the buffer convention, request budgets,
// statuses — shared by the gateway's wazero adapter (host/engine, a thin
// layer over guest memory) and the SDK's in-process emulator (sdk/sdktest).
//
// A host function here takes the caller's Env (what the calling module may
// see: its plans and attachments, its key namespace, its log), the request's
// Exchange, and the slices the adapter resolved from guest memory; it returns
// the ABI result (a length, a result or a status). Misuse that only a broken
// guest commits — an unknown ctx, a pointer outside memory — is the
// adapter's to trap on before it calls here.
//
// Node-wide state (counters, the value cache, semaphores, fill leases, JWT
// keys, the subscription catalog) is behind the interfaces of Services: the
// host wires its stores, the emulator in-memory ones.
//
// It imports only the standard library and abi/... packages.
package hostcall
