package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func namedValueCommand() *cli.Command {
	return &cli.Command{
		Name:  "named-value",
		Usage: "manage named values policies reference as {{name}} (secret values read back as ***)",
		Subcommands: []*cli.Command{
			leaf("list", "list named values", "", nil, func(e *cmdEnv) error {
				return listCmd(e, "/named-values", tableCols("NAME", "name", "VALUE", "value", "SECRET", "secret"))
			}),
			leaf("get", "show one named value", "NAME", []cli.Flag{
				&cli.BoolFlag{Name: "reveal", Usage: "show a secret value in plaintext (the read is written to the audit log)"},
			}, func(e *cmdEnv) error {
				if !e.c.Bool("reveal") {
					return getCmd(e, "/named-values/")
				}
				if err := e.want(1, 1); err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", "/named-values/"+pathSeg(e.args[0])+"/value", nil, nil)
				if err != nil {
					return err
				}
				return e.object(raw)
			}),
			leaf("set", "create or replace a named value", "NAME", []cli.Flag{
				&cli.StringFlag{Name: "value", Usage: "the value (- reads it from stdin, keeping secrets out of shell history)"},
				&cli.BoolFlag{Name: "secret", Usage: "encrypt at rest and never show it but with get --reveal (audited)"},
			}, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				if !e.c.IsSet("value") {
					return usageError{fmt.Errorf("named-value set: --value is required")}
				}
				v := e.c.String("value")
				if v == "-" {
					b, err := readInput("-", 1<<20)
					if err != nil {
						return err
					}
					v = strings.TrimRight(string(b), "\r\n")
				}
				body := map[string]any{"name": e.args[0], "value": v, "secret": e.c.Bool("secret")}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("PUT", "/named-values/"+pathSeg(e.args[0]), nil, body)
				var ae *apiError
				if errors.As(err, &ae) && ae.Status == 404 {
					raw, err = cl.call("POST", "/named-values", nil, body)
				}
				if err != nil {
					return err
				}
				return e.object(raw)
			}),
			leaf("delete", "delete a named value", "NAME", nil, func(e *cmdEnv) error {
				return deleteCmd(e, "/named-values/", "named value")
			}),
		},
	}
}
