package main

import (
	"github.com/urfave/cli/v2"
)

var (
	productCols = tableCols("ID", "id", "NAME", "name", "PUBLISHED", "published", "APPROVAL", "approvalRequired", "LIMIT", "subscriptionsLimit", "DESCRIPTION", "description")
	userCols    = tableCols("ID", "id", "EMAIL", "email", "NAME", "name", "STATE", "state")
	groupCols   = tableCols("ID", "id", "NAME", "name", "DESCRIPTION", "description")
)

func productFlags(withID bool) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "product name"},
		&cli.StringFlag{Name: "description", Usage: "description"},
		&cli.BoolFlag{Name: "published", Usage: "visible to developers"},
		&cli.BoolFlag{Name: "approval-required", Usage: "new subscriptions start submitted and need approval"},
		&cli.IntFlag{Name: "subscriptions-limit", Usage: "live subscriptions per user (0: unlimited)"},
	}
	if withID {
		fs = append([]cli.Flag{&cli.StringFlag{Name: "id", Usage: "product ID (generated when omitted)"}}, fs...)
	}
	return fs
}

var productFields = map[string]string{
	"id": "id", "name": "name", "description": "description", "published": "published",
	"approval-required": "approvalRequired", "subscriptions-limit": "subscriptionsLimit",
}

func productCommand() *cli.Command {
	return &cli.Command{
		Name:  "product",
		Usage: "manage products (sets of APIs developers subscribe to)",
		Subcommands: []*cli.Command{
			leaf("list", "list products", "", nil, func(e *cmdEnv) error { return listCmd(e, "/products", productCols) }),
			leaf("get", "show one product", "ID", nil, func(e *cmdEnv) error { return getCmd(e, "/products/") }),
			leaf("create", "create a product", "", productFlags(true), func(e *cmdEnv) error {
				return createCmd(e, "/products", productFields)
			}),
			leaf("update", "change a product (only the given flags)", "ID", productFlags(false), func(e *cmdEnv) error {
				return updateCmd(e, "/products/", productFields)
			}),
			leaf("delete", "delete a product", "ID", nil, func(e *cmdEnv) error { return deleteCmd(e, "/products/", "product") }),
			leaf("apis", "list the APIs of a product", "PRODUCT", nil, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				return listCmd(e, "/products/"+pathSeg(e.args[0])+"/apis", tableCols("PRODUCT", "productId", "API", "apiId"))
			}),
			leaf("add-api", "add an API to a product", "PRODUCT API", nil, func(e *cmdEnv) error {
				return linkCmd(e, "PUT", "/products/", "/apis/", "added api %[2]s to product %[1]s")
			}),
			leaf("remove-api", "remove an API from a product", "PRODUCT API", nil, func(e *cmdEnv) error {
				return linkCmd(e, "DELETE", "/products/", "/apis/", "removed api %[2]s from product %[1]s")
			}),
		},
	}
}

func userCommand() *cli.Command {
	fields := map[string]string{"id": "id", "email": "email", "name": "name", "state": "state"}
	return &cli.Command{
		Name:  "user",
		Usage: "manage users (developers who own subscriptions)",
		Subcommands: []*cli.Command{
			leaf("list", "list users", "", nil, func(e *cmdEnv) error { return listCmd(e, "/users", userCols) }),
			leaf("get", "show one user", "ID", nil, func(e *cmdEnv) error { return getCmd(e, "/users/") }),
			leaf("create", "create a user", "", []cli.Flag{
				&cli.StringFlag{Name: "id", Usage: "user ID (generated when omitted)"},
				&cli.StringFlag{Name: "email", Usage: "email address"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
				&cli.StringFlag{Name: "state", Usage: "active, blocked or pending (default active)"},
			}, func(e *cmdEnv) error { return createCmd(e, "/users", fields) }),
			leaf("update", "change a user (only the given flags)", "ID", []cli.Flag{
				&cli.StringFlag{Name: "email", Usage: "email address"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
				&cli.StringFlag{Name: "state", Usage: "active, blocked or pending"},
			}, func(e *cmdEnv) error { return updateCmd(e, "/users/", fields) }),
			leaf("delete", "delete a user", "ID", nil, func(e *cmdEnv) error { return deleteCmd(e, "/users/", "user") }),
			leaf("reset-link", "issue a one-time developer portal password reset link", "ID", []cli.Flag{
				&cli.IntFlag{Name: "ttl-minutes", Usage: "minutes the link works (5 to 10080; default 1440)"},
			}, userResetLink),
			leaf("signout", "end every developer portal session of a user", "ID", nil, userSignout),
		},
	}
}

func groupCommand() *cli.Command {
	fields := map[string]string{"id": "id", "name": "name", "description": "description"}
	return &cli.Command{
		Name:  "group",
		Usage: "manage groups of users",
		Subcommands: []*cli.Command{
			leaf("list", "list groups", "", nil, func(e *cmdEnv) error { return listCmd(e, "/groups", groupCols) }),
			leaf("get", "show one group", "ID", nil, func(e *cmdEnv) error { return getCmd(e, "/groups/") }),
			leaf("create", "create a group", "", []cli.Flag{
				&cli.StringFlag{Name: "id", Usage: "group ID (generated when omitted)"},
				&cli.StringFlag{Name: "name", Usage: "group name"},
				&cli.StringFlag{Name: "description", Usage: "description"},
			}, func(e *cmdEnv) error { return createCmd(e, "/groups", fields) }),
			leaf("delete", "delete a group", "ID", nil, func(e *cmdEnv) error { return deleteCmd(e, "/groups/", "group") }),
			leaf("users", "list the members of a group", "GROUP", nil, func(e *cmdEnv) error {
				if err := e.want(1, 1); err != nil {
					return err
				}
				return listCmd(e, "/groups/"+pathSeg(e.args[0])+"/users", userCols)
			}),
			leaf("add-user", "add a user to a group", "GROUP USER", nil, func(e *cmdEnv) error {
				return linkCmd(e, "PUT", "/groups/", "/users/", "added user %[2]s to group %[1]s")
			}),
			leaf("remove-user", "remove a user from a group", "GROUP USER", nil, func(e *cmdEnv) error {
				return linkCmd(e, "DELETE", "/groups/", "/users/", "removed user %[2]s from group %[1]s")
			}),
		},
	}
}

func createCmd(e *cmdEnv, path string, fields map[string]string) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	body := map[string]any{}
	setFlags(e.c, body, fields)
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("POST", path, nil, body)
	if err != nil {
		return err
	}
	return e.object(raw)
}

// updateCmd reads the entity, changes the fields whose flags are set and
// writes it back.
func updateCmd(e *cmdEnv, prefix string, fields map[string]string, skip ...string) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	path := prefix + pathSeg(e.args[0])
	raw, err := cl.call("GET", path, nil, nil)
	if err != nil {
		return err
	}
	v, err := decodeGeneric(raw)
	if err != nil {
		return err
	}
	body, _ := v.(map[string]any)
	if body == nil {
		body = map[string]any{}
	}
	setFlags(e.c, body, fields)
	raw, err = cl.call("PUT", path, nil, body)
	if err != nil {
		return err
	}
	return e.object(raw, skip...)
}

func linkCmd(e *cmdEnv, method, prefix, sub, msg string) error {
	if err := e.want(2, 2); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call(method, prefix+pathSeg(e.args[0])+sub+pathSeg(e.args[1]), nil, nil)
	if err != nil {
		return err
	}
	return e.done(raw, msg, e.args[0], e.args[1])
}
