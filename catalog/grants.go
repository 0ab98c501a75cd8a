package catalog

import (
	"fmt"
	egressrule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/manifest"
	"net"
	"slices"
	"sort"
	"strings"
	"time"
)

// Capability group names, as the host ABI defines them (abi.Cap*). The
// catalog keeps its own copy because it imports no host package; a test
// checks the two lists agree.
var capabilities = []string{
	"body", "cache", "clock", "concurrency", "config", "counters", "http",
	"jwt", "log", "random", "subscription", "vars",
}

// Capabilities returns every capability group name, sorted.
func Capabilities() []string { return slices.Clone(capabilities) }

// KnownCapability reports whether name is a capability group.
func KnownCapability(name string) bool {
	_, ok := slices.BinarySearch(capabilities, name)
	return ok
}

// BuiltinModuleName is the catalog name of the gateway's embedded,
// trusted module: it is granted what it requests by construction.
const BuiltinModuleName = "builtin"

// ModuleGrant is what an admin granted one module version: capability
// groups and egress destinations, each a subset of what its manifest
// requests. Limits are not granted one by one: a manifest's limits are
// requests clamped by the ceilings (see ModuleLimits.Clamp).
type ModuleGrant struct {
	Capabilities []string `json:"capabilities"`
	Egress       []string `json:"egress"`
	// By is the actor who granted (or "migration" for modules uploaded
	// before grants existed); At is when. Zero when nothing was granted.
	By string     `json:"by,omitempty"`
	At *time.Time `json:"at,omitempty"`
}

// Empty reports whether nothing is granted.
func (g ModuleGrant) Empty() bool { return len(g.Capabilities) == 0 && len(g.Egress) == 0 }

// MissingGrants lists what m requests and was not granted, as
// "capability NAME" and "egress DEST", in a stable order. The built-in
// module misses nothing.
func (m *Module) MissingGrants() []string {
	if m.Name == BuiltinModuleName {
		return nil
	}
	var out []string
	for _, c := range sorted(m.Manifest.Capabilities) {
		if !slices.Contains(m.Grant.Capabilities, c) {
			out = append(out, "capability "+c)
		}
	}
	for _, e := range sorted(m.Manifest.Egress) {
		if !slices.Contains(m.Grant.Egress, e) {
			out = append(out, "egress "+e)
		}
	}
	return out
}

// GrantedCapabilities is what the host may let m import: its grant, or
// everything it requests for the built-in module.
func (m *Module) GrantedCapabilities() []string {
	if m.Name == BuiltinModuleName {
		return sorted(m.Manifest.Capabilities)
	}
	return sorted(m.Grant.Capabilities)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}

// CheckGrant validates g against what m requests: every name must be a
// known capability (or a well-formed egress destination) that m requests.
// It returns g normalized (sorted, without repeats, never nil lists).
func (m *Module) CheckGrant(g ModuleGrant) (ModuleGrant, error) {
	for i, c := range g.Capabilities {
		p := fmt.Sprintf("capabilities[%d]", i)
		if !KnownCapability(c) {
			return g, fieldErr(p, "unknown capability %q (known: %s)", c, strings.Join(capabilities, ", "))
		}
		if !slices.Contains(m.Manifest.Capabilities, c) {
			return g, fieldErr(p, "module %s@%s does not request capability %q (it requests: %s)", m.Name, m.Version, c, listOrNone(m.Manifest.Capabilities))
		}
	}
	for i, e := range g.Egress {
		p := fmt.Sprintf("egress[%d]", i)
		if err := ValidateEgressDest(e); err != nil {
			return g, fieldErr(p, "%v", err)
		}
		if !slices.Contains(m.Manifest.Egress, e) {
			return g, fieldErr(p, "module %s@%s does not request egress %q (it requests: %s)", m.Name, m.Version, e, listOrNone(m.Manifest.Egress))
		}
	}
	g.Capabilities, g.Egress = sorted(g.Capabilities), sorted(g.Egress)
	if g.Capabilities == nil {
		g.Capabilities = []string{}
	}
	if g.Egress == nil {
		g.Egress = []string{}
	}
	return g, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(sorted(s), ", ")
}

// ValidateEgressDest checks the syntax of one requested egress destination:
// a host name (optionally "*." for its subdomains), an IP address or a CIDR,
// each optionally with ":port". Whether a destination is allowed is the
// egress policy's decision at dial time, not this function's.
func ValidateEgressDest(d string) error {
	if err := validEgressSyntax(d); err != nil {
		return err
	}
	// The gateway merges granted destinations into the allow-lists of the
	// APIs the module is attached to: they must be entries it takes.
	if _, err := egressrule.ParseAllowList([]string{d}); err != nil {
		return fmt.Errorf("egress destination %q: %v", d, err)
	}
	return nil
}

func validEgressSyntax(d string) error {
	if d == "" || len(d) > 253+6 {
		return fmt.Errorf("egress destination must be 1..259 characters")
	}
	host := d
	if h, port, err := net.SplitHostPort(d); err == nil {
		if !validPort(port) {
			return fmt.Errorf("egress destination %q: bad port", d)
		}
		host = h
	}
	if _, _, err := net.ParseCIDR(host); err == nil {
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	name := strings.TrimPrefix(host, "*.")
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("egress destination %q is not a host name, IP address or CIDR", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("egress destination %q is not a lowercase host name, IP address or CIDR", d)
			}
		}
	}
	return nil
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
}

// DefaultModuleCeilings are the ceilings on what a module's manifest may
// request when the operator sets none (manifest.DefaultCeilings; Clamp is
// ModuleLimits.Clamp in abi/manifest).
var DefaultModuleCeilings = manifest.DefaultCeilings

// ResolveGranted resolves ref like ResolveModule, among the versions whose
// requests are all granted (a version that is not granted never runs and
// cannot be attached). When ref names uploaded versions none of which is
// granted, the error (wrapping ErrInvalid) names what the version it
// would resolve to is missing.
func ResolveGranted(mods []Module, ref string) (Module, error) {
	m, ok := ResolveModule(mods, ref)
	if !ok {
		return Module{}, &resolveError{ErrNotFound, fmt.Sprintf("module %q is not uploaded", ref)}
	}
	if len(m.MissingGrants()) == 0 {
		return m, nil
	}
	if _, version, _ := ParseModuleRef(ref); version == "" {
		granted := make([]Module, 0, len(mods))
		for _, c := range mods {
			if len(c.MissingGrants()) == 0 {
				granted = append(granted, c)
			}
		}
		if g, ok := ResolveModule(granted, ref); ok {
			return g, nil
		}
	}
	return Module{}, &resolveError{ErrInvalid, fmt.Sprintf("module %s@%s is not granted %s (an admin grants it: gatehouse plugin grant %s %s --all)",
		m.Name, m.Version, strings.Join(m.MissingGrants(), ", "), m.Name, m.Version)}
}

// resolveError is a ResolveGranted failure: its message names the module
// and what it misses; errors.Is matches ErrNotFound or ErrInvalid.
type resolveError struct {
	sentinel error
	msg      string
}

func (e *resolveError) Error() string        { return e.msg }
func (e *resolveError) Is(target error) bool { return target == e.sentinel }
