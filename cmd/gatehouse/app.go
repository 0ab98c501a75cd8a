package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// Exit codes are stable: scripts may rely on them.
const (
	exitOK      = 0
	exitFailure = 1 // the operation failed (invalid module, server error)
	exitUsage   = 2 // bad flags or arguments
)

var version = "0.1.0-dev"

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:        "gatehouse",
		Usage:       "API gateway whose policies are sandboxed WebAssembly modules",
		Description: adminDescription,
		Version:     version,
		// An unknown command is a usage error (exit 2), not a help topic.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("unknown command %q (see gatehouse --help)", c.Args().First())}
			}
			return cli.ShowAppHelp(c)
		},
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: append([]*cli.Command{
			serveCommand(),
			pluginCommand(),
		}, adminCommands()...),
		ExitErrHandler: func(*cli.Context, error) {}, // run() maps errors to codes
	}
}

type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	onUsage := func(c *cli.Context, err error, _ bool) error { return usageError{err} }
	app.OnUsageError = onUsage
	var setUsage func([]*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = onUsage
			setUsage(c.Subcommands)
		}
	}
	setUsage(app.Commands)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "gatehouse:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitFailure
}
