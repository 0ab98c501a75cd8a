package main

import "github.com/urfave/cli/v2"

// adminCommands returns the CLI commands that talk to the admin API.
func adminCommands() []*cli.Command { return nil }
