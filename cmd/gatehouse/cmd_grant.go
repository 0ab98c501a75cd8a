package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/catalog"
)

// moduleCeilingFlags are `gatehouse serve`'s ceilings on what a module's
// manifest may request (catalog.ModuleLimits.Clamp).
func moduleCeilingFlags() []cli.Flag {
	d := catalog.DefaultModuleCeilings
	return []cli.Flag{
		&cli.IntFlag{Name: "module-max-memory-pages", Value: d.MemoryPages, EnvVars: []string{"GATEHOUSE_MODULE_MAX_MEMORY_PAGES"}, Usage: "ceiling on the memory (64 KiB pages, at most 1024) an uploaded module's manifest may request"},
		&cli.DurationFlag{Name: "module-max-timeout", Value: time.Duration(d.TimeoutMS) * time.Millisecond, EnvVars: []string{"GATEHOUSE_MODULE_MAX_TIMEOUT"}, Usage: "ceiling on the per-call deadline (at most 30s) an uploaded module's manifest may request"},
		&cli.IntFlag{Name: "module-max-instances", Value: d.Instances, EnvVars: []string{"GATEHOUSE_MODULE_MAX_INSTANCES"}, Usage: "ceiling on the instance pool size an uploaded module's manifest may request"},
	}
}

// moduleCeilings reads and checks the ceiling flags.
func moduleCeilings(c *cli.Context) (catalog.ModuleLimits, error) {
	l := catalog.ModuleLimits{
		MemoryPages: c.Int("module-max-memory-pages"),
		TimeoutMS:   int(c.Duration("module-max-timeout") / time.Millisecond),
		Instances:   c.Int("module-max-instances"),
	}
	switch {
	case l.MemoryPages < 1 || l.MemoryPages > 1024:
		return l, usageError{fmt.Errorf("--module-max-memory-pages must be between 1 and 1024, not %d", l.MemoryPages)}
	case l.TimeoutMS < 1 || l.TimeoutMS > 30000:
		return l, usageError{fmt.Errorf("--module-max-timeout must be between 1ms and 30s, not %s", c.Duration("module-max-timeout"))}
	case l.Instances < 1 || l.Instances > 256:
		return l, usageError{fmt.Errorf("--module-max-instances must be between 1 and 256, not %d", l.Instances)}
	}
	return l, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var grantFlags = []cli.Flag{
	&cli.BoolFlag{Name: "all", Usage: "everything the module requests (grant) or has been granted (revoke)"},
	&cli.StringFlag{Name: "capabilities", Usage: "capability groups, separated by commas"},
	&cli.StringFlag{Name: "egress", Usage: "egress destinations, separated by commas"},
}

// pluginGrantCommand and pluginRevokeCommand change a module version's
// grant: they read it, add or take away what the flags name, and PUT the
// result (the server checks it against the manifest's requests and
// refuses to take away a grant a policy in use needs).
func pluginGrantCommand() *cli.Command {
	return leaf("grant", "grant a module version capabilities and egress it requests", "NAME VERSION", grantFlags, func(e *cmdEnv) error {
		return e.changeGrant(true)
	})
}

func pluginRevokeCommand() *cli.Command {
	return leaf("revoke", "revoke capabilities and egress granted to a module version", "NAME VERSION", grantFlags, func(e *cmdEnv) error {
		return e.changeGrant(false)
	})
}

func (e *cmdEnv) changeGrant(grant bool) error {
	if err := e.want(2, 2); err != nil {
		return err
	}
	all, caps, egress := e.c.Bool("all"), splitList(e.c.String("capabilities")), splitList(e.c.String("egress"))
	verb := "grant"
	if !grant {
		verb = "revoke"
	}
	if all == (len(caps) > 0 || len(egress) > 0) {
		return usageError{fmt.Errorf("plugin %s: give --all, or --capabilities and/or --egress", verb)}
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	path := "/modules/" + url.PathEscape(e.args[0]) + "/" + url.PathEscape(e.args[1])
	var raw []byte
	switch {
	case grant && all:
		raw, err = cl.call("PUT", path+"/grant", nil, map[string]any{"all": true})
	case !grant && all:
		raw, err = cl.call("DELETE", path+"/grant", nil, nil)
	default:
		cur, err := cl.call("GET", path, nil, nil)
		if err != nil {
			return err
		}
		var m struct {
			Grant struct {
				Capabilities []string `json:"capabilities"`
				Egress       []string `json:"egress"`
			} `json:"grant"`
		}
		if err := json.Unmarshal(cur, &m); err != nil {
			return fmt.Errorf("reading the module: %w", err)
		}
		c, g := m.Grant.Capabilities, m.Grant.Egress
		if grant {
			c, g = append(c, caps...), append(g, egress...)
		} else {
			c = slices.DeleteFunc(c, func(s string) bool { return slices.Contains(caps, s) })
			g = slices.DeleteFunc(g, func(s string) bool { return slices.Contains(egress, s) })
		}
		raw, err = cl.call("PUT", path+"/grant", nil, map[string]any{"capabilities": nonNilList(c), "egress": nonNilList(g)})
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	return e.object(raw, "sha256", "createdAt")
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
