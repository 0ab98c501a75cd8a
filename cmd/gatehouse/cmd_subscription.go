package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/urfave/cli/v2"
)

var subCols = tableCols("ID", "id", "USER", "userId", "SCOPE", "scope", "SCOPE ID", "scopeId", "STATE", "state", "NAME", "name", "EXPIRES", "expiresAt", "CREATED", "createdAt")

func subscriptionCommand() *cli.Command {
	state := func(action string) *cli.Command {
		return leaf(action, action+" a subscription", "ID", nil, func(e *cmdEnv) error {
			if err := e.want(1, 1); err != nil {
				return err
			}
			cl, err := e.client()
			if err != nil {
				return err
			}
			raw, err := cl.call("POST", "/subscriptions/"+pathSeg(e.args[0])+"/"+action, nil, nil)
			if err != nil {
				return err
			}
			var s struct {
				State string `json:"state"`
			}
			if json.Unmarshal(raw, &s) == nil && s.State != "" {
				return e.done(raw, "subscription %s is %s", e.args[0], s.State)
			}
			return e.done(raw, "subscription %s: %s done", e.args[0], action)
		})
	}
	return &cli.Command{
		Name:    "subscription",
		Aliases: []string{"sub"},
		Usage:   "manage subscriptions and their keys",
		Subcommands: []*cli.Command{
			leaf("create", "create a subscription and print its keys", "", []cli.Flag{
				&cli.StringFlag{Name: "user", Usage: "owner's user ID"},
				&cli.StringFlag{Name: "scope", Usage: "all, product or api"},
				&cli.StringFlag{Name: "scope-id", Usage: "product or API ID (scope product or api)"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
				&cli.StringFlag{Name: "id", Usage: "subscription ID (generated when omitted)"},
			}, subCreate),
			leaf("list", "list subscriptions", "", []cli.Flag{
				&cli.StringFlag{Name: "user", Usage: "only this user's"},
				&cli.StringFlag{Name: "scope", Usage: "only this scope (all, product, api)"},
				&cli.StringFlag{Name: "scope-id", Usage: "only this product or API"},
				&cli.StringFlag{Name: "state", Usage: "only this state (submitted, active, suspended, cancelled, expired)"},
			}, func(e *cmdEnv) error {
				if err := e.want(0, 0); err != nil {
					return err
				}
				q := url.Values{}
				for flag, param := range map[string]string{"user": "userId", "scope": "scope", "scope-id": "scopeId", "state": "state"} {
					if v := e.c.String(flag); v != "" {
						q.Set(param, v)
					}
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := e.listPaged(cl, "/subscriptions", q)
				if err != nil {
					return err
				}
				return e.list(raw, subCols)
			}),
			leaf("get", "show one subscription (without its keys)", "ID", nil, func(e *cmdEnv) error { return getCmd(e, "/subscriptions/") }),
			leaf("delete", "delete a subscription", "ID", nil, func(e *cmdEnv) error { return deleteCmd(e, "/subscriptions/", "subscription") }),
			leaf("show-keys", "print a subscription's keys (audited)", "ID", nil, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("GET", "/subscriptions/"+pathSeg(e.args[0])+"/keys", nil, nil)
				if err != nil {
					return err
				}
				return e.object(raw)
			}),
			leaf("regenerate", "replace one key of a subscription and print it", "ID primary|secondary", nil, func(e *cmdEnv) error {
				if err := e.want(2, 2); err != nil {
					return err
				}
				slot := e.args[1]
				if slot != "primary" && slot != "secondary" {
					return usageError{fmt.Errorf("subscription regenerate: key slot must be primary or secondary, not %q", slot)}
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("POST", "/subscriptions/"+pathSeg(e.args[0])+"/keys/"+slot+"/regenerate", nil, nil)
				if err != nil {
					return err
				}
				return e.emit(raw, func(w io.Writer) error {
					var k struct {
						Key string `json:"key"`
					}
					if err := json.Unmarshal(raw, &k); err != nil {
						return err
					}
					fmt.Fprintf(w, "%sKey:\t%s\n", slot, k.Key)
					return nil
				})
			}),
			state("approve"),
			state("activate"),
			state("suspend"),
			state("cancel"),
			leaf("expire", "set or clear a subscription's expiry", "ID", []cli.Flag{
				&cli.StringFlag{Name: "at", Usage: "RFC 3339 instant, e.g. 2026-12-31T23:59:59Z"},
				&cli.BoolFlag{Name: "never", Usage: "remove the expiry"},
			}, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				at, never := e.c.String("at"), e.c.Bool("never")
				if (at == "") == !never {
					return usageError{fmt.Errorf("subscription expire: give exactly one of --at and --never")}
				}
				body := map[string]any{"expiresAt": nil}
				if at != "" {
					t, err := time.Parse(time.RFC3339, at)
					if err != nil {
						return usageError{fmt.Errorf("--at: %v", err)}
					}
					body["expiresAt"] = t
				}
				cl, err := e.client()
				if err != nil {
					return err
				}
				raw, err := cl.call("PUT", "/subscriptions/"+pathSeg(e.args[0])+"/expiry", nil, body)
				if err != nil {
					return err
				}
				if len(raw) > 0 {
					return e.object(raw)
				}
				return e.done(raw, "subscription %s updated", e.args[0])
			}),
		},
	}
}

func subCreate(e *cmdEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	if e.c.String("user") == "" || e.c.String("scope") == "" {
		return usageError{fmt.Errorf("subscription create: --user and --scope are required")}
	}
	switch scope := e.c.String("scope"); scope {
	case "all":
	case "product", "api":
		if e.c.String("scope-id") == "" {
			return usageError{fmt.Errorf("subscription create: --scope %s needs --scope-id", scope)}
		}
	default:
		return usageError{fmt.Errorf("subscription create: --scope must be all, product or api, not %q", scope)}
	}
	body := map[string]any{}
	setFlags(e.c, body, map[string]string{"user": "userId", "scope": "scope", "scope-id": "scopeId", "name": "name", "id": "id"})
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("POST", "/subscriptions", nil, body)
	if err != nil {
		return err
	}
	return e.emit(raw, func(w io.Writer) error {
		var res struct {
			Subscription json.RawMessage `json:"subscription"`
			Primary      string          `json:"primaryKey"`
			Secondary    string          `json:"secondaryKey"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		if err := printKV(w, res.Subscription); err != nil {
			return err
		}
		fmt.Fprintf(w, "primaryKey:\t%s\nsecondaryKey:\t%s\n", res.Primary, res.Secondary)
		return nil
	})
}
