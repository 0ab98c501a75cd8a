//go:build wasip1

// Command noexports has the version marker but no entry point.
package main

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 0 }

func main() {}
