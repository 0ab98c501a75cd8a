module github.com/gatehouse/gatehouse/sdk

go 1.26.0

require (
	github.com/gatehouse/gatehouse v0.0.0-00010101000000-000000000000
	github.com/gatehouse/gatehouse/abi v0.0.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
)

replace github.com/gatehouse/gatehouse/abi => ../abi

// Only a test of the SDK (sdk_test.go: jwt_verify against the host's own
// verifier) needs the main module; nothing a plugin builds or tests does.
replace github.com/gatehouse/gatehouse => ..
