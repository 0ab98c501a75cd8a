//go:build wasip1

package sdk

import "github.com/gatehouse/gatehouse/abi"

// The module's exports (abi/ABI.md §2). A policy's main package needs only
// `func main() {}` and its Register calls: importing this package exports
// these functions.

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return abi.Minor }

//go:wasmexport on_request
func onRequest(ctx, plan int32) int32 { return dispatch(PhaseRequest, uint32(ctx), uint32(plan)) }

//go:wasmexport on_response
func onResponse(ctx, plan int32) int32 { return dispatch(PhaseResponse, uint32(ctx), uint32(plan)) }
