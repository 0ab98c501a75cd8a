package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// MaxAllowEntries caps an allow-list.
const MaxAllowEntries = 256

// ErrRefused is wrapped by every refusal of a destination (RefusedError).
var ErrRefused = errors.New("egress refused")

// RefusedError says which destination was refused and why. It is meant
// for the admin and the gateway log, never for an API caller.
type RefusedError struct {
	Target string     // host:port or name asked for
	Addr   netip.Addr // the address refused (zero when refused by name)
	Class  Class
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Addr.IsValid() && e.Target != "" && !strings.HasPrefix(e.Target, e.Addr.String()) && !strings.HasPrefix(e.Target, "["+e.Addr.String()) {
		return fmt.Sprintf("egress to %s refused: it resolves to %s, %s", e.Target, e.Addr, e.Reason)
	}
	return fmt.Sprintf("egress to %s refused: %s", e.Target, e.Reason)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// AllowList is a parsed list of egress allow entries: CIDRs ("10.0.0.0/8",
// "fd00::/8"), single addresses ("10.1.2.3", "::1") or an address and
// port ("10.1.2.3:8443", "[::1]:8080"), host names with an optional port ("billing.internal", "billing.internal:8443") and
// wildcard names ("*.corp.example": any name under corp.example, not
// corp.example itself). The zero AllowList allows nothing.
type AllowList struct {
	prefixes []netip.Prefix
	hosts    []hostEntry
	entries  []string
}

type hostEntry struct {
	name     string // lower case, no trailing dot; for wildcards the suffix with its leading '.'
	wildcard bool
	port     string // "" any
}

// ParseAllowList parses allow entries; the error names the entry and why.
func ParseAllowList(entries []string) (AllowList, error) {
	var a AllowList
	if len(entries) > MaxAllowEntries {
		return a, fmt.Errorf("at most %d egress allow entries", MaxAllowEntries)
	}
	for i, e := range entries {
		if err := a.add(e); err != nil {
			return AllowList{}, fmt.Errorf("egress allow entry %d (%q): %v", i, e, err)
		}
	}
	return a, nil
}

func (a *AllowList) add(e string) error {
	s := strings.TrimSpace(e)
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 300 {
		return errors.New("too long")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("not a CIDR: %v", err)
		}
		if p.Addr().Zone() != "" {
			return errors.New("zones are not allowed")
		}
		if p != p.Masked() {
			return fmt.Errorf("host bits set; write %s", p.Masked())
		}
		a.prefixes = append(a.prefixes, unmapPrefix(p))
		a.entries = append(a.entries, p.String())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		if ip.Zone() != "" {
			return errors.New("zones are not allowed")
		}
		ip = ip.Unmap()
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		a.entries = append(a.entries, ip.String())
		return nil
	}
	wild := strings.HasPrefix(s, "*.")
	if wild {
		s = s[2:]
	}
	if strings.ContainsAny(s, "*@/%") || strings.ContainsAny(strings.TrimPrefix(s, "["), "[") {
		return errors.New("not a CIDR, an address or a host name")
	}
	host, port, err := SplitHost(s)
	if err != nil {
		return errors.Unwrap(err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if wild {
			return errors.New("a wildcard needs a name")
		}
		host = ip.Unmap().String() // "10.0.0.5:8443": that address, that port only
	}
	he := hostEntry{name: host, wildcard: wild, port: port}
	if wild {
		he.name = "." + host
	}
	a.hosts = append(a.hosts, he)
	a.entries = append(a.entries, e)
	return nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// Entries returns the entries as given (CIDRs and addresses normalized).
func (a AllowList) Entries() []string { return slices.Clone(a.entries) }

// Empty reports whether a allows nothing.
func (a AllowList) Empty() bool { return len(a.prefixes) == 0 && len(a.hosts) == 0 }

// Merge returns the union of a and b.
func (a AllowList) Merge(b AllowList) AllowList {
	if b.Empty() {
		return a
	}
	if a.Empty() {
		return b
	}
	return AllowList{
		prefixes: append(slices.Clip(a.prefixes), b.prefixes...),
		hosts:    append(slices.Clip(a.hosts), b.hosts...),
		entries:  append(slices.Clip(a.entries), b.entries...),
	}
}

// AllowsAddr reports whether an entry covers ip (or the IPv4 address an
// IPv6 transition form carries). A metadata address is allowed only by an
// entry naming exactly it, never by a range that happens to contain it.
func (a AllowList) AllowsAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	cands := []netip.Addr{ip}
	if v4, ok := Embedded4(ip); ok {
		cands = append(cands, v4)
	}
	for _, c := range cands {
		meta := metadataAddrs[c]
		for _, p := range a.prefixes {
			if p.Contains(c) && (!meta || p.IsSingleIP()) {
				return true
			}
		}
	}
	return false
}

// AllowsHost reports whether a name entry covers host (normalized, as
// SplitHost returns it) on port.
func (a AllowList) AllowsHost(host, port string) bool {
	for _, h := range a.hosts {
		if h.port != "" && h.port != port {
			continue
		}
		if h.wildcard && strings.HasSuffix(host, h.name) || !h.wildcard && host == h.name {
			return true
		}
	}
	return false
}

// reservedNames are names that mean loopback or a metadata service
// wherever they are resolved (RFC 6761 and the clouds' own names): refused
// by name for module-set destinations, before any lookup.
var reservedNames = map[string]Class{
	"localhost": Loopback, "localhost.localdomain": Loopback, "ip6-localhost": Loopback, "ip6-loopback": Loopback,
	"metadata": Metadata, "metadata.google.internal": Metadata, "metadata.goog": Metadata,
	"instance-data": Metadata, "instance-data.ec2.internal": Metadata,
}

// NameClass returns the class a name certainly has (Loopback for
// "localhost" and "*.localhost", Metadata for the clouds' metadata names),
// or Public when only a lookup can tell.
func NameClass(host string) Class {
	if c, ok := reservedNames[host]; ok {
		return c
	}
	if strings.HasSuffix(host, ".localhost") {
		return Loopback
	}
	return Public
}

// Scope is the egress rule of one road: an API (its own backend and its
// allow-list merged with the global one) or a road without an API (JWKS:
// the global allow-list only). A Scope is immutable and safe for
// concurrent use.
//
// The rule, for a destination host:port resolving to an address:
//   - unspecified, multicast and broadcast addresses: refused always;
//   - public addresses: allowed;
//   - an address or name an allow-list entry covers: allowed;
//   - the API's own configured backend (same host and port): allowed on
//     loopback, private, CGNAT, unique-local and reserved networks (the
//     admin chose it), not on link-local or metadata addresses unless
//     allow-listed;
//   - anything else: refused.
type Scope struct {
	own   string // normalized authority of the API's backend, "" for none
	allow AllowList
}

// NewScope returns the rule of an API whose own backend is backend ("" for
// a road without one) with allow (per-API and global entries merged).
func NewScope(backend string, allow AllowList) (*Scope, error) {
	s := &Scope{allow: allow}
	if backend != "" {
		u, err := ParseBackend(backend)
		if err != nil {
			return nil, err
		}
		s.own = Authority(u)
	}
	return s, nil
}

// Own returns the authority (host:port) of the scope's own backend.
func (s *Scope) Own() string { return s.own }

// Allow returns the scope's allow-list.
func (s *Scope) Allow() AllowList { return s.allow }

// CheckURL parses raw with ParseBackend and checks what can be checked
// without a lookup: an IP literal's class, and names that mean loopback
// or metadata. Names are checked again, on every address they resolve to,
// when the host connects (host/egress).
func (s *Scope) CheckURL(raw string) (*url.URL, error) {
	u, err := ParseBackend(raw)
	if err != nil {
		return nil, err
	}
	return u, s.CheckParsed(u)
}

// CheckParsed is CheckURL for a URL ParseBackend or ParseTarget returned.
func (s *Scope) CheckParsed(u *url.URL) error {
	host, port, err := SplitHost(u.Host)
	if err != nil {
		return err
	}
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return s.CheckAddr(host, port, ip)
	}
	return s.CheckName(host, port)
}

// CheckName decides what the name alone decides: a reserved loopback or
// metadata name (NameClass) is refused unless allow-listed (or, for
// loopback names, the API's own backend). Other names pass; their
// addresses are checked when the host connects.
func (s *Scope) CheckName(host, port string) error {
	c := NameClass(host)
	if c == Public {
		return nil
	}
	target := joinHostPort(host, port)
	if s.allow.AllowsHost(host, port) || target == s.own && c != Metadata {
		return nil
	}
	return &RefusedError{Target: target, Class: c, Reason: "the name is " + article(c) + " " + c.String() + " name; allow it with an egress allow-list entry"}
}

// CheckAddr decides whether the host may connect to ip for the
// destination host:port (host normalized as SplitHost returns it; for an
// IP literal, the address itself).
func (s *Scope) CheckAddr(host, port string, ip netip.Addr) error {
	c := Classify(ip)
	target := joinHostPort(host, port)
	switch {
	case c.never():
		return &RefusedError{Target: target, Addr: ip, Class: c, Reason: fmt.Sprintf("%s is %s %s address", ip, article(c), c)}
	case c == Public:
		return nil
	case s.allow.AllowsAddr(ip) || s.allow.AllowsHost(host, port) || s.allow.AllowsHost(ip.WithZone("").Unmap().String(), port):
		return nil
	case target == s.own && c != LinkLocal && c != Metadata:
		return nil
	}
	why := fmt.Sprintf("%s is %s %s address", ip, article(c), c)
	if target == s.own {
		why += " (even the API's own backend needs an allow-list entry for it)"
	}
	return &RefusedError{Target: target, Addr: ip, Class: c, Reason: why + "; allow it with an egress allow-list entry"}
}

func article(c Class) string {
	switch c {
	case Unspecified, UniqueLocal:
		return "an"
	}
	return "a"
}

// CheckBackend checks an API's own backend URL (catalog, YAML config): the
// URL syntax, and its host's class when it is an IP literal, with the API's
// allow-list. Loopback and private literals pass (the admin chose them);
// link-local and metadata literals need an allow-list entry.
func CheckBackend(raw string, allow AllowList) (*url.URL, error) {
	u, err := ParseBackend(raw)
	if err != nil {
		return nil, err
	}
	s := &Scope{own: Authority(u), allow: allow}
	return u, s.CheckParsed(u)
}
