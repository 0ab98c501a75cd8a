//go:build wasip1

// Command badimport imports a function from a module the host does not provide.
package main

//go:wasmimport env steal_secrets
func stealSecrets() int32

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 0 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return stealSecrets() }

func main() {}
