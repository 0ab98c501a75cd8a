package main

import (
	_ "github.com/tetratelabs/wazero"
	_ "github.com/gorilla/mux"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/urfave/cli/v2"
	_ "go.yaml.in/yaml/v3"
)

func main() {}
