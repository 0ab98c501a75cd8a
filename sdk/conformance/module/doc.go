//go:build !wasip1

// Command module is the Wasm build of the conformance guest; see main.go
// (the exports are built only for GOOS=wasip1; natively this is empty).
package main

func main() {}
