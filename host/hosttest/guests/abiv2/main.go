//go:build wasip1

// Command abiv2 claims ABI v2: the host must refuse it by name.
package main

//go:wasmexport gatehouse_abi_v2
func abiVersion() int32 { return 0 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return 0 }

func main() {}
