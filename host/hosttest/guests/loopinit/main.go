//go:build wasip1

// Command loopinit never finishes starting: its package init loops, so the
// host's _initialize never returns. The host must fail its load at the init
// deadline instead of waiting forever.
package main

var spins uint64

func init() {
	for {
		spins++
	}
}

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 0 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return 0 }

func main() {}
