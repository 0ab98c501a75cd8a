module github.com/gatehouse/gatehouse/examples/ua-filter

go 1.26.0

require (
	github.com/gatehouse/gatehouse v0.0.0
	github.com/gatehouse/gatehouse/sdk v0.0.0
)

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/gatehouse/gatehouse/abi v0.0.0 // indirect
	github.com/gorilla/mux v1.8.1 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

// The example builds against this checkout's SDK. A project outside the
// repository gets the same lines, pointing at the SDK source that
// `gatehouse plugin new` writes into it.
replace (
	github.com/gatehouse/gatehouse => ../..
	github.com/gatehouse/gatehouse/abi => ../../abi
	github.com/gatehouse/gatehouse/sdk => ../../sdk
)
