package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// adminDescription is the app's --help description: how the admin commands
// find the server and what their exit codes mean.
const adminDescription = `The admin commands (api, product, user, group, subscription,
policy, named-value, plugin upload|list, apply, export, audit,
catalog-version, analytics) are clients of the admin API of a running
` + "`gatehouse serve`" + ` (docs/admin-api.md, docs/cli.md).

They find it through, in order: --admin-url and --token, the environment
variables GATEHOUSE_ADMIN_URL and GATEHOUSE_ADMIN_TOKEN, the CLI config file
(--cli-config, default $XDG_CONFIG_HOME/gatehouse/cli.yaml, with admin_url,
token and output), then DATA/admin.url and DATA/admin.token as written by
serve (--data, GATEHOUSE_DATA, default ./data; that token is only sent to
the URL in admin.url).

Output: -o table (default), json or yaml. Flags may follow the arguments.

Exit codes:
   0  success
   1  failure: the server answered an error (4xx or 5xx; its message and each
      offending field are printed to stderr), the server is unreachable, or
      a local file could not be read
   2  usage error: unknown flag, wrong number of arguments, bad flag value`

// adminCommands returns the CLI commands that talk to the admin API.
func adminCommands() []*cli.Command {
	cmds := []*cli.Command{
		apiCommand(),
		productCommand(),
		userCommand(),
		groupCommand(),
		subscriptionCommand(),
		policyCommand(),
		namedValueCommand(),
		certCommand(),
		applyCommand(),
		exportCommand(),
		auditCommand(),
		catalogVersionCommand(),
		analyticsCommand(),
		cacheCommand(),
		adminAccountsCommand(),
	}
	for _, c := range cmds {
		if c.Description == "" {
			c.Description = adminDescription
		}
		groupAction(c)
	}
	return cmds
}

// groupAction makes a command with subcommands show its help when called
// alone and answer an unknown subcommand with a usage error (exit 2).
func groupAction(c *cli.Command) {
	if len(c.Subcommands) == 0 || c.Action != nil {
		return
	}
	c.Action = func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return usageError{fmt.Errorf("%s: unknown command %q (see gatehouse %s --help)", ctx.Command.FullName(), ctx.Args().First(), ctx.Command.FullName())}
		}
		return cli.ShowSubcommandHelp(ctx)
	}
}
