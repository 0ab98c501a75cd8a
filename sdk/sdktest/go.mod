module github.com/gatehouse/gatehouse/sdk/sdktest

go 1.26.0

require (
	github.com/gatehouse/gatehouse v0.0.0
	github.com/gatehouse/gatehouse/abi v0.0.0
	github.com/gatehouse/gatehouse/sdk v0.0.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
)

replace (
	github.com/gatehouse/gatehouse => ../..
	github.com/gatehouse/gatehouse/abi => ../../abi
	github.com/gatehouse/gatehouse/sdk => ..
)
