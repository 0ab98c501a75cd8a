// Package ipfilter is the ip-filter policy (Azure API Management's
// ip-filter): it allows or forbids requests by the client's IP address: the
// TCP peer of the gateway or, when that peer is a trusted proxy, the address
// the proxies recorded in a forwarding header.
//
// Config:
//
//	{
//	  "action": "allow",                    // required: allow | forbid
//	  "addresses": ["203.0.113.7", "2001:db8::1"],
//	  "address_ranges": [{"from": "10.0.0.1", "to": "10.0.0.99"}],
//	  "cidrs": ["192.168.0.0/16", "2001:db8:1::/48"],
//	  "trusted_proxies": ["10.0.0.0/8", "192.0.2.10"], // addresses or CIDRs
//	  "forwarded_header": "X-Forwarded-For"            // the default
//	}
//
// At least one address, range or CIDR is required; IPv4 and IPv6 may be
// mixed, but a range's ends must be of the same family. With "allow" only
// the listed addresses pass; with "forbid" they are refused and every other
// address passes. An IPv4-mapped IPv6 peer (::ffff:203.0.113.7) is matched as
// its IPv4 address. A refused request gets 403 with the JSON body
//
//	{"statusCode":403,"message":"Forbidden"}
//
// # Trusted proxies
//
// Without trusted_proxies the peer address is the client's, and forwarding
// headers are ignored. With them, a request whose peer is not a trusted
// proxy is still judged by its peer address (the header is ignored, so a
// client cannot spoof it); a request from a trusted proxy is judged by the
// right-most address of forwarded_header (all its lines, comma-separated,
// in order) that is not itself a trusted proxy: the walk goes from the right
// and stops at the first untrusted entry. Entries may carry a port
// ("203.0.113.7:5100", "[2001:db8::7]:443"). When every entry is a trusted
// proxy the left-most is the client.
//
// Fail closed: a request from a trusted proxy is refused with 403 whatever
// the action when the header is absent or empty, or when the walk reaches an
// entry that is not an IP address (empty entries included) before finding
// the client. The walk never skips such an entry to read further left,
// where the addresses were written by the client.
//
// The client IP field is the address the gateway resolved at its edge from
// its own trusted proxies (gatehouse serve --trusted-proxies; host/edge),
// the same one rate limits and the request log use: with the gateway
// configured, trusted_proxies stays empty here. The gateway removes
// X-Forwarded-*, Forwarded, X-Real-IP and X-Client-IP before policies run,
// so trusted_proxies with the default forwarded_header refuses a request
// whose resolved client is one of them; the fields remain for proxies that
// record the client under another header (X-Azure-ClientIP). See
// docs/policies/ip-filter.md.
package ipfilter

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/plugins/internal/conf"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "ip-filter"

// ForbiddenBody is the body of the 403 answer.
var ForbiddenBody = conf.ErrorBody(403, "Forbidden")

// Config is the policy's JSON config.
type Config struct {
	Action        string   `json:"action"`
	Addresses     []string `json:"addresses"`
	AddressRanges []Range  `json:"address_ranges"`
	CIDRs         []string `json:"cidrs"`
	// TrustedProxies are addresses or CIDR prefixes of proxies whose
	// forwarded_header is believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// ForwardedHeader defaults to DefaultForwardedHeader.
	ForwardedHeader *string `json:"forwarded_header"`
}

// DefaultForwardedHeader is the header read from trusted proxies unless
// forwarded_header says otherwise.
const DefaultForwardedHeader = "X-Forwarded-For"

// Range is an inclusive address range.
type Range struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type span struct{ from, to netip.Addr }

// Policy is a configured ip-filter.
type Policy struct {
	sdk.Base
	allow   bool
	spans   []span
	trusted []span // trusted proxies; none: the peer is the client
	header  string // the forwarding header read from trusted proxies
	buf     []byte // reused for the client IP
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	var c Config
	if err := conf.Decode(config, &c); err != nil {
		return nil, err
	}
	p := &Policy{buf: make([]byte, 0, 64)}
	switch c.Action {
	case "allow":
		p.allow = true
	case "forbid":
	case "":
		return nil, errors.New(`action is required: "allow" or "forbid"`)
	default:
		return nil, fmt.Errorf(`action %q: want "allow" or "forbid"`, c.Action)
	}
	for i, s := range c.Addresses {
		a, err := parseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("addresses[%d]: %v", i, err)
		}
		p.spans = append(p.spans, span{a, a})
	}
	for i, r := range c.AddressRanges {
		from, err := parseAddr(r.From)
		if err != nil {
			return nil, fmt.Errorf("address_ranges[%d].from: %v", i, err)
		}
		to, err := parseAddr(r.To)
		if err != nil {
			return nil, fmt.Errorf("address_ranges[%d].to: %v", i, err)
		}
		if from.Is4() != to.Is4() {
			return nil, fmt.Errorf("address_ranges[%d]: from %s and to %s are not of the same IP family", i, from, to)
		}
		if to.Less(from) {
			return nil, fmt.Errorf("address_ranges[%d]: from %s is after to %s", i, from, to)
		}
		p.spans = append(p.spans, span{from, to})
	}
	for i, s := range c.CIDRs {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("cidrs[%d]: %q is not a CIDR prefix", i, s)
		}
		if pfx.Addr().Is4In6() {
			return nil, fmt.Errorf("cidrs[%d]: %q: write IPv4-mapped prefixes in IPv4 form", i, s)
		}
		p.spans = append(p.spans, span{pfx.Masked().Addr(), lastAddr(pfx)})
	}
	if len(p.spans) == 0 {
		return nil, errors.New("at least one of addresses, address_ranges and cidrs is required")
	}
	for i, s := range c.TrustedProxies {
		sp, err := parseAddrOrPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies[%d]: %v", i, err)
		}
		p.trusted = append(p.trusted, sp)
	}
	p.header = DefaultForwardedHeader
	if c.ForwardedHeader != nil {
		if !conf.IsToken(*c.ForwardedHeader) {
			return nil, fmt.Errorf("forwarded_header %q is not a valid header name", *c.ForwardedHeader)
		}
		p.header = *c.ForwardedHeader
	}
	return p, nil
}

// parseAddrOrPrefix parses a trusted proxy: an address or a CIDR prefix.
func parseAddrOrPrefix(s string) (span, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return span{}, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		if pfx.Addr().Is4In6() {
			return span{}, fmt.Errorf("%q: write IPv4-mapped prefixes in IPv4 form", s)
		}
		return span{pfx.Masked().Addr(), lastAddr(pfx)}, nil
	}
	a, err := parseAddr(s)
	if err != nil {
		return span{}, err
	}
	return span{a, a}, nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q: zones are not allowed", s)
	}
	return a.Unmap(), nil
}

// lastAddr returns the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Allowed reports whether the policy lets an address (in text form) pass.
// An address that does not parse never passes. It does not allocate.
func (p *Policy) Allowed(ip []byte) bool {
	if len(ip) == 0 {
		return false
	}
	// The string does not outlive the call; netip keeps no reference to it
	// in a successful parse.
	a, err := netip.ParseAddr(unsafe.String(&ip[0], len(ip)))
	if err != nil {
		return false
	}
	return p.allowedAddr(a.WithZone("").Unmap())
}

func (p *Policy) allowedAddr(a netip.Addr) bool {
	return in(p.spans, a) == p.allow
}

// in reports whether a (unmapped, without zone) is in one of spans.
func in(spans []span, a netip.Addr) bool {
	for _, s := range spans {
		if s.from.Is4() == a.Is4() && s.from.Compare(a) <= 0 && a.Compare(s.to) <= 0 {
			return true
		}
	}
	return false
}

// Client returns the address the policy judges for a request from peer
// whose forwarded_header has the lines forwarded (in order); ok is false
// when there is none and the request is refused: a peer that does not
// parse, or a trusted proxy whose header is absent, empty or malformed
// before the client's entry (see the package documentation).
func (p *Policy) Client(peer string, forwarded []string) (client netip.Addr, ok bool) {
	a, err := netip.ParseAddr(peer)
	if err != nil {
		return netip.Addr{}, false
	}
	a = a.WithZone("").Unmap()
	if len(p.trusted) == 0 || !in(p.trusted, a) {
		return a, true
	}
	found := false
	for i := len(forwarded) - 1; i >= 0; i-- {
		rest := forwarded[i]
		for {
			j := strings.LastIndexByte(rest, ',')
			e, ok := parseEntry(strings.Trim(rest[j+1:], " \t"))
			if !ok {
				return netip.Addr{}, false
			}
			if !in(p.trusted, e) {
				return e, true
			}
			client, found = e, true
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return client, found // every entry is a trusted proxy: the left-most
}

// fromTrustedProxy reports whether the peer address (in text form) is a
// trusted proxy. It does not allocate.
func (p *Policy) fromTrustedProxy(ip []byte) bool {
	if len(p.trusted) == 0 || len(ip) == 0 {
		return false
	}
	a, err := netip.ParseAddr(unsafe.String(&ip[0], len(ip)))
	return err == nil && in(p.trusted, a.WithZone("").Unmap())
}

// parseEntry parses one forwarded entry: an address, "v4:port" or
// "[v6]:port". Zones are dropped and IPv4-mapped addresses unmapped.
func parseEntry(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// OnRequest checks the client's address.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.buf = c.AppendField(p.buf[:0], sdk.FieldClientIP)
	if !p.fromTrustedProxy(p.buf) {
		// The peer is the client: no header is read, nothing allocated.
		if p.Allowed(p.buf) {
			return sdk.Continue
		}
	} else if a, ok := p.Client(string(p.buf), c.Request().Header().Values(p.header)); ok && p.allowedAddr(a) {
		return sdk.Continue
	}
	if err := c.Response().Header().Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(403, ForbiddenBody)
}
