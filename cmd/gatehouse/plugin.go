package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
)

func pluginCommand() *cli.Command {
	c := &cli.Command{
		Name:  "plugin",
		Usage: "work with policy modules",
		Subcommands: []*cli.Command{pluginNewCommand(), pluginBuildCommand(), pluginTestCommand(), pluginRunCommand(), pluginPublishCommand(), pluginRollbackCommand(), pluginUploadCommand(), pluginListCommand(), pluginGrantCommand(), pluginRevokeCommand(), {
			Name:      "validate",
			Usage:     "check a .wasm policy module against the host ABI",
			ArgsUsage: "FILE.wasm",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageError{fmt.Errorf("plugin validate: want one FILE.wasm, got %d arguments", c.NArg())}
				}
				path := c.Args().First()
				bin, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				ctx := context.Background()
				e, err := engine.New(ctx, engine.Options{})
				if err != nil {
					return err
				}
				defer e.Close(ctx)
				info, err := e.Validate(ctx, bin)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				w := c.App.Writer
				if c.String("output") == "json" {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(info)
				}
				var entries []string
				if info.OnRequest {
					entries = append(entries, abi.ExportOnRequest)
				}
				if info.OnResponse {
					entries = append(entries, abi.ExportOnResponse)
				}
				fmt.Fprintf(w, "module:        %s (%d bytes)\n", path, info.Size)
				fmt.Fprintf(w, "abi:           v%d.%d (host module %s)\n", info.ABIMajor, info.ABIMinor, abi.HostModule)
				fmt.Fprintf(w, "entry points:  %s\n", strings.Join(entries, ", "))
				fmt.Fprintf(w, "capabilities:  %s\n", orNone(info.Capabilities))
				fmt.Fprintf(w, "host imports:  %s\n", orNone(info.HostImports))
				fmt.Fprintf(w, "wasi imports:  %s\n", orNone(info.WASIImports))
				fmt.Fprintf(w, "memory:        %d pages at start\n", info.MemoryMin)
				fmt.Fprintln(w, "ok")
				return nil
			},
		}},
	}
	groupAction(c)
	return c
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
