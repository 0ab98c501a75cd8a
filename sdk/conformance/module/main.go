//go:build wasip1

// Command module is the Wasm build of the conformance guest
// (sdk/conformance/guest): GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared ./sdk/conformance/module.
package main

import (
	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/conformance/guest"
)

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return abi.Minor }

//go:wasmexport on_request
func onRequest(ctx, plan int32) int32 {
	return guest.Entry(guest.PhaseRequest, uint32(ctx), uint32(plan))
}

//go:wasmexport on_response
func onResponse(ctx, plan int32) int32 {
	return guest.Entry(guest.PhaseResponse, uint32(ctx), uint32(plan))
}

func main() {}
