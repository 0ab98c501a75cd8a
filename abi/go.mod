module github.com/gatehouse/gatehouse/abi

go 1.26.0
