package edge

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// HeaderMode is the forwarding header the gateway believes from trusted
// proxies.
type HeaderMode uint8

const (
	// HeaderXFF is X-Forwarded-For: a comma-separated list of addresses,
	// one appended by each proxy (the default).
	HeaderXFF HeaderMode = iota
	// HeaderForwarded is RFC 7239 Forwarded: elements with for= nodes.
	HeaderForwarded
)

func (m HeaderMode) String() string {
	if m == HeaderForwarded {
		return "Forwarded"
	}
	return "X-Forwarded-For"
}

// ParseHeaderMode parses a forwarded-header setting: "X-Forwarded-For" (or
// "xff", or "" for the default) or "Forwarded" (case-insensitive).
func ParseHeaderMode(s string) (HeaderMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "x-forwarded-for", "xff":
		return HeaderXFF, nil
	case "forwarded":
		return HeaderForwarded, nil
	}
	return 0, fmt.Errorf("forwarded header %q: want X-Forwarded-For or Forwarded", s)
}

// MaxHops bounds the forwarding entries read for one request: a longer
// chain is cut there (the entry at the cut counts as malformed).
const MaxHops = 32

// Proxies is the edge model of who the client is: the TCP peer, unless the
// peer is a trusted proxy, in which case the forwarding header is walked
// from the right and the first address that is not a trusted proxy is the
// client. The zero value (and nil) trusts no proxy: the peer is the client.
// It is immutable and safe for concurrent use.
type Proxies struct {
	trusted []netip.Prefix
	mode    HeaderMode
}

// NewProxies parses trusted proxies (addresses or CIDR prefixes, IPv4 or
// IPv6) and the header to believe from them. An empty list trusts no proxy.
func NewProxies(cidrs []string, header string) (*Proxies, error) {
	mode, err := ParseHeaderMode(header)
	if err != nil {
		return nil, err
	}
	p := &Proxies{mode: mode}
	for i, s := range cidrs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var pfx netip.Prefix
		if strings.Contains(s, "/") {
			pfx, err = netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxies[%d]: %q is not an address or CIDR prefix", i, s)
			}
			if pfx.Addr().Is4In6() {
				return nil, fmt.Errorf("trusted proxies[%d]: %q: write IPv4-mapped prefixes in IPv4 form", i, s)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxies[%d]: %q is not an address or CIDR prefix", i, s)
			}
			a = a.Unmap()
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		p.trusted = append(p.trusted, pfx.Masked())
	}
	return p, nil
}

// Header returns the header believed from trusted proxies.
func (p *Proxies) Header() HeaderMode {
	if p == nil {
		return HeaderXFF
	}
	return p.mode
}

// Trusts reports whether a (unmapped, without zone) is a trusted proxy.
func (p *Proxies) Trusts(a netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, t := range p.trusted {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

// Enabled reports whether any proxy is trusted.
func (p *Proxies) Enabled() bool { return p != nil && len(p.trusted) > 0 }

// Client returns the client's address for a request from remoteAddr (as in
// http.Request.RemoteAddr) with headers h, in canonical text form (IPv4-
// mapped addresses unmapped, zones dropped), or "" when remoteAddr does not
// parse. h is only read, and only when the peer is a trusted proxy; call
// Client before StripIdentityHeaders.
//
// Behind trusted proxies the walk goes from the right and returns the first
// entry that is not a trusted proxy. An entry that is not an address
// ("unknown", an obfuscated RFC 7239 node, a host name, an empty entry, a
// syntax error) stops the walk: the client is then the nearest trusted hop
// seen so far, because everything left of the bad entry may have been
// written by the client. When every entry is trusted, the left-most is the
// client. Without a header the peer (a trusted proxy) is the client.
func (p *Proxies) Client(remoteAddr string, h http.Header) string {
	peer, ok := parsePeer(remoteAddr)
	if !ok {
		return ""
	}
	if !p.Enabled() || !p.Trusts(peer) {
		return peerString(remoteAddr, peer)
	}
	return p.walk(peer, h).String()
}

// peerString is peer.String() without formatting it (an allocation per
// request) when remoteAddr is IPv4 "address:port": netip parses only the
// canonical dotted-decimal form of an IPv4 address (four decimal fields,
// no leading zeros), so the text before the port is what String returns.
func peerString(remoteAddr string, peer netip.Addr) string {
	if peer.Is4() {
		if i := strings.LastIndexByte(remoteAddr, ':'); i >= 7 && dottedDecimal(remoteAddr[:i]) {
			return remoteAddr[:i]
		}
	}
	return peer.String()
}

// dottedDecimal reports whether s holds only digits and dots.
func dottedDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func parsePeer(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

// walk finds the client behind the trusted peer.
func (p *Proxies) walk(peer netip.Addr, h http.Header) netip.Addr {
	client := peer
	if p.mode == HeaderForwarded {
		for _, n := range ForwardedFromRight(headerValues(h, "Forwarded"), MaxHops) {
			a, ok := parseNode(n)
			if !ok {
				return client
			}
			if !p.Trusts(a) {
				return a
			}
			client = a
		}
		return client
	}
	vals := headerValues(h, "X-Forwarded-For")
	hops := 0
	for i := len(vals) - 1; i >= 0; i-- {
		rest := vals[i]
		for {
			j := strings.LastIndexByte(rest, ',')
			hops++
			if hops > MaxHops {
				return client
			}
			a, ok := parseXFFEntry(strings.Trim(rest[j+1:], " \t"))
			if !ok {
				return client
			}
			if !p.Trusts(a) {
				return a
			}
			client = a
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return client
}

// headerValues returns the lines of header name, also under the
// underscore and non-canonical spellings net/http keeps apart; it does not
// allocate when the header is present only in canonical form.
func headerValues(h http.Header, name string) []string {
	var out []string
	n := 0
	for k, v := range h {
		if equalNorm(k, name) {
			n++
			if n == 1 {
				out = v
			} else {
				// A second spelling (X_Forwarded_For next to
				// X-Forwarded-For) makes the chain ambiguous: its order
				// relative to the first is unknown. Refuse both.
				return []string{""}
			}
		}
	}
	return out
}

// parseXFFEntry parses an X-Forwarded-For entry: an address, "v4:port" or
// "[v6]:port" (as some load balancers write it).
func parseXFFEntry(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseNode parses an RFC 7239 node (the value of for=, unquoted): an IPv4
// address, "[IPv6]", either with ":port". "unknown" and obfuscated
// identifiers ("_hidden") are not addresses.
func parseNode(s string) (netip.Addr, bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		if rest := s[end+1:]; rest != "" && !validNodePort(rest) {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && !validNodePort(":"+port) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// validNodePort reports whether s is ":" followed by a port number or an
// obfuscated port ("_" followed by ALPHA / DIGIT / "." / "_" / "-").
func validNodePort(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	s = s[1:]
	if s[0] == '_' {
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return len(s) > 1
	}
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ForwardedFromRight returns the for= nodes of a Forwarded header's
// elements from the right-most one leftwards, as a walk from the right
// reads them. Each line is split at its commas from the right and each piece
// parsed as one element, so an element written by a trusted proxy is read
// correctly whatever a client wrote to its left (an unclosed quote there
// would make the whole line a syntax error for a left-to-right parser and
// hide the proxy's entry). The first piece that is not one valid element
// (or has no single for=) gives "" and ends the list; so does passing max
// pieces. Proxies never write commas inside their own values, so quoted
// commas only matter left of what they wrote.
func ForwardedFromRight(lines []string, max int) []string {
	var out []string
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			j := strings.LastIndexByte(rest, ',')
			if len(out) >= max {
				return append(out, "")
			}
			nodes, err := parseForwardedLine(rest[j+1:], nil)
			if err != nil || len(nodes) != 1 || nodes[0] == "" {
				return append(out, "")
			}
			out = append(out, nodes[0])
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return out
}

// ErrForwardedSyntax is returned by ForwardedFor for a header that is not
// RFC 7239 syntax.
var ErrForwardedSyntax = errors.New("malformed Forwarded header")

// ForwardedFor parses the lines of an RFC 7239 Forwarded header and returns
// the for= node of each element, left to right, unquoted; an element
// without for= (or with two) gives "" (not an address). At most max
// elements are returned: when there are more, only the right-most max are
// kept, preceded by one "" standing for the cut (so a walk from the right
// stops there). A syntax error anywhere returns no nodes and
// ErrForwardedSyntax: quoted strings may contain commas, so no element
// boundary can be trusted after one.
func ForwardedFor(lines []string, max int) ([]string, error) {
	var nodes []string
	for _, line := range lines {
		var err error
		nodes, err = parseForwardedLine(line, nodes)
		if err != nil {
			return nil, err
		}
	}
	if max > 0 && len(nodes) > max {
		nodes = append([]string{""}, nodes[len(nodes)-max+1:]...)
	}
	return nodes, nil
}

// parseForwardedLine appends the for= nodes of one header line's elements.
//
//	Forwarded   = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair = token "=" value
//	value          = token / quoted-string
func parseForwardedLine(s string, nodes []string) ([]string, error) {
	i := 0
	skipOWS := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		// one element
		node, nfor := "", 0
		for {
			skipOWS()
			if i < len(s) && s[i] != ';' && s[i] != ',' {
				start := i
				for i < len(s) && isTokenChar(s[i]) {
					i++
				}
				name := s[start:i]
				if name == "" || i >= len(s) || s[i] != '=' {
					return nil, ErrForwardedSyntax
				}
				i++
				var val string
				if i < len(s) && s[i] == '"' {
					var b strings.Builder
					i++
					closed := false
					for i < len(s) {
						c := s[i]
						if c == '\\' {
							if i+1 >= len(s) {
								return nil, ErrForwardedSyntax
							}
							b.WriteByte(s[i+1])
							i += 2
							continue
						}
						if c == '"' {
							i++
							closed = true
							break
						}
						if c < 0x20 && c != '\t' || c == 0x7f {
							return nil, ErrForwardedSyntax
						}
						b.WriteByte(c)
						i++
					}
					if !closed {
						return nil, ErrForwardedSyntax
					}
					val = b.String()
				} else {
					start := i
					for i < len(s) && isTokenChar(s[i]) {
						i++
					}
					val = s[start:i]
					if val == "" {
						return nil, ErrForwardedSyntax
					}
				}
				if strings.EqualFold(name, "for") {
					node = val
					nfor++
				}
				skipOWS()
			}
			if i >= len(s) || s[i] == ',' {
				break
			}
			if s[i] != ';' {
				return nil, ErrForwardedSyntax
			}
			i++
		}
		if nfor != 1 {
			node = ""
		}
		nodes = append(nodes, node)
		if len(nodes) > 4*MaxHops {
			// Keep the work bounded: a header with this many elements is
			// not a proxy chain. Drop from the left, keeping a cut marker.
			nodes = append(nodes[:1], nodes[len(nodes)-MaxHops:]...)
			nodes[0] = ""
		}
		if i >= len(s) {
			return nodes, nil
		}
		i++ // ','
	}
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
