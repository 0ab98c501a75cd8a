module github.com/gatehouse/gatehouse/sdk

go 1.26.0

require (
	github.com/gatehouse/gatehouse/abi v0.0.0
	github.com/gatehouse/gatehouse/sdk/sdktest v0.0.0-00010101000000-000000000000
)

require (
	github.com/gatehouse/gatehouse v0.0.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
)

replace github.com/gatehouse/gatehouse/abi => ../abi

// Only the SDK's own tests use the emulator (sdk/sdktest, a module of its
// own until it no longer imports host packages; RATIONALE.md "The SDK and
// abi as their own modules").
replace (
	github.com/gatehouse/gatehouse => ..
	github.com/gatehouse/gatehouse/sdk/sdktest => ./sdktest
)
