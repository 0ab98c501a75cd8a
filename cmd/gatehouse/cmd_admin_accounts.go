package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// adminAccountsCommand is `gatehouse admin`: named admin accounts and
// their personal API tokens, through the admin API (docs/cli.md).
func adminAccountsCommand() *cli.Command {
	tokenCols := tableCols("ID", "id", "NAME", "name", "PREFIX", "prefix", "CREATED", "createdAt")
	adminFlag := &cli.StringFlag{Name: "admin", Usage: "the admin `ID` (default: the admin whose token you use)"}
	return &cli.Command{
		Name:  "admin",
		Usage: "manage admin accounts (owner, editor, viewer) and personal API tokens",
		Subcommands: []*cli.Command{
			leaf("create", "create an admin account (needs an owner token, e.g. the break-glass DATA/admin.token)", "", []cli.Flag{
				&cli.StringFlag{Name: "email", Usage: "the admin's email (unique)"},
				&cli.StringFlag{Name: "role", Usage: "owner, editor or viewer"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
				&cli.StringFlag{Name: "id", Usage: "the admin's ID (default: generated)"},
				&cli.BoolFlag{Name: "password-stdin", Usage: "read a password (10 characters to 72 bytes) from the first line of stdin"},
			}, func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				if e.c.String("email") == "" || e.c.String("role") == "" {
					return usageError{fmt.Errorf("admin create: --email and --role are required")}
				}
				body := map[string]any{"email": e.c.String("email"), "role": e.c.String("role"), "name": e.c.String("name"), "id": e.c.String("id")}
				if e.c.Bool("password-stdin") {
					b, err := readInput("-", 4096)
					if err != nil {
						return err
					}
					pw, _, _ := strings.Cut(string(b), "\n")
					body["password"] = strings.TrimRight(pw, "\r")
				}
				return sendObject(e, "POST", "/admins", body)
			}),
			leaf("list", "list admin accounts", "", nil, func(e *cmdEnv) error {
				return listCmd(e, "/admins", tableCols("ID", "id", "EMAIL", "email", "NAME", "name", "ROLE", "role", "STATE", "state"))
			}),
			leaf("update", "change an admin's role, state or name (owner)", "ID", []cli.Flag{
				&cli.StringFlag{Name: "role", Usage: "owner, editor or viewer"},
				&cli.StringFlag{Name: "state", Usage: "active or blocked (a blocked admin's tokens are refused)"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
			}, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				body := map[string]any{}
				for _, f := range []string{"role", "state", "name"} {
					if e.c.IsSet(f) {
						body[f] = e.c.String(f)
					}
				}
				if len(body) == 0 {
					return usageError{fmt.Errorf("admin update: give --role, --state or --name")}
				}
				return sendObject(e, "PATCH", "/admins/"+pathSeg(e.args[0]), body)
			}),
			leaf("delete", "delete an admin and revoke all its tokens (owner)", "ID", nil, func(e *cmdEnv) error {
				return deleteCmd(e, "/admins/", "admin")
			}),
			leaf("whoami", "show who your token acts as", "", nil, func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", "/me", nil, nil)
				if err != nil {
					return err
				}
				return e.object(raw, "admin")
			}),
			{
				Name:  "token",
				Usage: "create, list and revoke personal API tokens",
				Subcommands: []*cli.Command{
					leaf("create", "create a token; it is printed once and cannot be shown again", "", []cli.Flag{
						adminFlag, &cli.StringFlag{Name: "name", Usage: "what the token is for (required)"},
					}, func(e *cmdEnv) error {
						if err := e.want(0, 0); err != nil {
							return err
						}
						if e.c.String("name") == "" {
							return usageError{fmt.Errorf("admin token create: --name is required")}
						}
						id, err := tokenAdmin(e)
						if err != nil {
							return err
						}
						cl, err := e.client()
						if err != nil {
							return err
						}
						raw, err := cl.call("POST", "/admins/"+pathSeg(id)+"/tokens", nil, map[string]any{"name": e.c.String("name")})
						if err != nil {
							return err
						}
						fmt.Fprintln(e.errw, "The token is shown only now: store it safely (revoke it with `gatehouse admin token revoke ID`).")
						return e.object(raw)
					}),
					leaf("list", "list tokens (never the tokens themselves)", "", []cli.Flag{adminFlag}, func(e *cmdEnv) error {
						if err := e.want(0, 0); err != nil {
							return err
						}
						id, err := tokenAdmin(e)
						if err != nil {
							return err
						}
						return listCmd(e, "/admins/"+pathSeg(id)+"/tokens", tokenCols)
					}),
					leaf("revoke", "revoke a token", "TOKEN_ID", []cli.Flag{adminFlag}, func(e *cmdEnv) error {
						if err := e.want(1, 1); err != nil {
							return err
						}
						id, err := tokenAdmin(e)
						if err != nil {
							return err
						}
						return deleteCmd(e, "/admins/"+pathSeg(id)+"/tokens/", "token")
					}),
				},
			},
		},
	}
}

// sendObject sends body and prints the answered object.
func sendObject(e *cmdEnv, method, path string, body any) error {
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call(method, path, nil, body)
	if err != nil {
		return err
	}
	return e.object(raw)
}

// tokenAdmin is --admin, or the admin the token in use belongs to.
func tokenAdmin(e *cmdEnv) (string, error) {
	if id := e.c.String("admin"); id != "" {
		return id, nil
	}
	cl, err := e.client()
	if err != nil {
		return "", err
	}
	raw, err := cl.call("GET", "/me", nil, nil)
	if err != nil {
		return "", err
	}
	var me struct {
		Admin *struct{ ID string }
	}
	if err := json.Unmarshal(raw, &me); err != nil {
		return "", err
	}
	if me.Admin == nil {
		return "", usageError{fmt.Errorf("%s: the break-glass token has no tokens of its own; pass --admin ID", e.c.Command.FullName())}
	}
	return me.Admin.ID, nil
}
