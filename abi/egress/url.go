package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLen caps a destination URL.
const MaxURLLen = 2048

// ErrInvalidURL is wrapped by every error about a URL's syntax.
var ErrInvalidURL = errors.New("invalid URL")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidURL, fmt.Sprintf(format, args...))
}

// ParseBackend parses a backend base URL: what an API's backend, a
// policy's backend override and each redirect hop (without its query) must
// be. It is ParseTarget without a query or fragment (the gateway appends
// the request's own query).
func ParseBackend(raw string) (*url.URL, error) {
	u, err := ParseTarget(raw)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "?") {
		return nil, invalid("must not contain a query")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, invalid("must not contain a fragment")
	}
	return u, nil
}

// ParseTarget parses a URL the host may connect to (a JWKS URL, a
// redirect's Location) and normalizes its host, so that every road sees
// one spelling of one destination:
//
//   - absolute http or https, with a host; no user info (also no '@'
//     anywhere in the authority: "http://good@evil/" is refused, not read
//     as host "evil"), no percent-encoding or backslash in the authority;
//   - port 1–65535, decimal, without leading zeros;
//   - an IP literal only in its canonical form: dotted-quad IPv4, or
//     bracketed IPv6 without a zone. inet_aton forms that resolvers accept
//     (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 127.1) are refused,
//     naming the address they mean;
//   - a name in ASCII (punycode for IDNs), labels of letters, digits, '-'
//     and '_', lower-cased, without a trailing dot (removed).
//
// The host is rewritten in place (u.Host); what the host dials is that
// normalized name. The fragment is dropped.
func ParseTarget(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, invalid("empty")
	}
	if len(raw) > MaxURLLen {
		return nil, invalid("longer than %d bytes", MaxURLLen)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return nil, invalid("contains a space or control character")
		}
	}
	auth := authority(raw)
	if strings.Contains(auth, "@") {
		return nil, invalid("must not contain user info")
	}
	if strings.ContainsAny(auth, `%\`) {
		return nil, invalid("host must not be percent-encoded or contain a backslash")
	}
	if strings.HasPrefix(auth, "[") {
		if end := strings.IndexByte(auth, ']'); end > 0 {
			if ip, err := netip.ParseAddr(auth[1:end]); err != nil || !ip.Is6() {
				return nil, invalid("%q in brackets is not an IPv6 address", auth[1:end])
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, invalid("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalid("scheme must be http or https, not %q", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, invalid("must be an absolute URL with a host")
	}
	if u.User != nil {
		return nil, invalid("must not contain user info")
	}
	host, port, err := SplitHost(u.Host)
	if err != nil {
		return nil, err
	}
	u.Host = joinHostPort(host, port)
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// authority returns the raw authority of an absolute URL (between "//" and
// the next '/', '?' or '#').
func authority(raw string) string {
	i := strings.Index(raw, "//")
	if i < 0 {
		return ""
	}
	s := raw[i+2:]
	if j := strings.IndexAny(s, "/?#"); j >= 0 {
		s = s[:j]
	}
	return s
}

// SplitHost splits and checks a URL's host[:port] (as in url.URL.Host) and
// returns the normalized host (an IP literal without brackets, or a
// lower-case name without a trailing dot) and the port ("" when absent).
func SplitHost(hostport string) (host, port string, err error) {
	host = hostport
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", "", invalid("unclosed '[' in host")
		}
		rest := host[end+1:]
		host = host[1:end]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", invalid("junk after ']' in host")
			}
			port = rest[1:]
			if err := checkPort(port); err != nil {
				return "", "", err
			}
		}
		if strings.Contains(host, "%") {
			return "", "", invalid("IPv6 zones are not allowed")
		}
		ip, perr := netip.ParseAddr(host)
		if perr != nil || !ip.Is6() {
			return "", "", invalid("%q in brackets is not an IPv6 address", host)
		}
		return ip.String(), port, nil
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		port = host[i+1:]
		host = host[:i]
		if err := checkPort(port); err != nil {
			return "", "", err
		}
		if strings.Contains(host, ":") {
			return "", "", invalid("an IPv6 address must be in brackets")
		}
	}
	host, err = normalizeHost(host)
	return host, port, err
}

func checkPort(p string) error {
	if p == "" {
		return invalid("empty port")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' || p[0] == '+' || p[0] == '-' {
		return invalid("invalid port %q (1–65535)", p)
	}
	return nil
}

// normalizeHost checks an unbracketed host: a canonical dotted-quad IPv4
// or a DNS name.
func normalizeHost(h string) (string, error) {
	if h == "" {
		return "", invalid("must have a host")
	}
	if looksNumeric(h) {
		if ip, err := netip.ParseAddr(h); err == nil && ip.Is4() {
			return ip.String(), nil
		}
		if ip, ok := ParseInetAton(strings.TrimSuffix(h, ".")); ok {
			return "", invalid("host %q is a non-canonical form of the IPv4 address %s; write %s", h, ip, ip)
		}
		return "", invalid("host %q is neither an IPv4 address nor a name", h)
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if name == "" || len(name) > 253 {
		return "", invalid("host name must be 1–253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", invalid("host %q has an empty or over-long label", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", invalid("host %q has a label starting or ending with '-'", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c >= 0x80 {
					return "", invalid("host %q is not ASCII; use its punycode (xn--) form", h)
				}
				return "", invalid("host %q contains %q", h, c)
			}
		}
	}
	// A name whose last label is all digits would be read as an address
	// by some resolvers ("1.2.3.04", "example.0x7f").
	if looksNumeric(name[strings.LastIndexByte(name, '.')+1:]) {
		return "", invalid("host %q ends in a numeric label", h)
	}
	return name, nil
}

// looksNumeric reports whether every dot-separated label of h (a single
// trailing dot ignored) is a decimal, octal or hex number: what inet_aton
// and many resolvers read as an IPv4 address.
func looksNumeric(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if len(l) > 2 && (l[:2] == "0x" || l[:2] == "0X") {
			l = l[2:]
			for i := 0; i < len(l); i++ {
				if !isHex(l[i]) {
					return false
				}
			}
			continue
		}
		if l == "0x" || l == "0X" {
			continue // inet_aton reads a bare "0x" as 0
		}
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if l[i] < '0' || l[i] > '9' {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// ParseInetAton reads s as inet_aton(3) does: one to four parts, each
// decimal, octal (leading 0) or hex (0x); the last part fills the remaining
// bytes (127.1 is 127.0.0.1, 2852039166 is 169.254.169.254).
func ParseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		n |= vals[i] << (24 - 8*uint(i))
	}
	if vals[last] >= 1<<(8*uint(4-last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// joinHostPort writes a normalized host back into URL form.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// Authority returns "host:port" of a parsed URL with its normalized host
// and the scheme's default port when none is given: the unit the egress
// rule names (an API's own backend is allowed by its authority, not by
// its host alone).
func Authority(u *url.URL) string {
	host, port, err := SplitHost(u.Host)
	if err != nil {
		return ""
	}
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	return joinHostPort(host, port)
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}
