// Package ipfilter is the ip-filter policy (Azure API Management's
// ip-filter): it allows or forbids requests by the client's IP address, the
// TCP peer of the gateway.
//
// Config:
//
//	{
//	  "action": "allow",                    // required: allow | forbid
//	  "addresses": ["203.0.113.7", "2001:db8::1"],
//	  "address_ranges": [{"from": "10.0.0.1", "to": "10.0.0.99"}],
//	  "cidrs": ["192.168.0.0/16", "2001:db8:1::/48"]
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
// The peer address is used as it is: behind a proxy or load balancer it is
// the proxy's (trusted-proxy support is a follow-up).
package ipfilter

import (
	"errors"
	"fmt"
	"net/netip"
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
}

// Range is an inclusive address range.
type Range struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type span struct{ from, to netip.Addr }

// Policy is a configured ip-filter.
type Policy struct {
	sdk.Base
	allow bool
	spans []span
	buf   []byte // reused for the client IP
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
	return p, nil
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
	a = a.WithZone("").Unmap()
	listed := false
	for _, s := range p.spans {
		if s.from.Is4() == a.Is4() && s.from.Compare(a) <= 0 && a.Compare(s.to) <= 0 {
			listed = true
			break
		}
	}
	return listed == p.allow
}

// OnRequest checks the client's address.
func (p *Policy) OnRequest(c *sdk.Context) sdk.Action {
	p.buf = c.AppendField(p.buf[:0], sdk.FieldClientIP)
	if p.Allowed(p.buf) {
		return sdk.Continue
	}
	if err := c.Response().Header().Set("Content-Type", "application/json"); err != nil {
		return c.Fail(err)
	}
	return c.Respond(403, ForbiddenBody)
}
