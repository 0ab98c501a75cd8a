package edge

import (
	"fmt"
	"net/netip"
	"strings"
)

// Hostnames is the configured list of names the gateway is served under.
// Nil (or empty) accepts any Host, and no name is "known" (the gateway then
// sends no X-Forwarded-Host). It is immutable and safe for concurrent use.
type Hostnames struct {
	names map[string]string // lowercased name → configured name (lowercased)
}

// NewHostnames parses the list: DNS names (letters, digits, '-', '.';
// labels of 1–63 bytes, at most 253 bytes) or IP literals (IPv6 with or
// without brackets), without ports. Names are compared case-insensitively
// and without a trailing dot.
func NewHostnames(list []string) (*Hostnames, error) {
	h := &Hostnames{names: map[string]string{}}
	for i, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, ok := normHost(s)
		if !ok {
			return nil, fmt.Errorf("hostnames[%d]: %q is not a host name or IP address (no port, no scheme)", i, s)
		}
		h.names[n] = n
	}
	if len(h.names) == 0 {
		return nil, nil
	}
	return h, nil
}

// Enabled reports whether a list is configured.
func (h *Hostnames) Enabled() bool { return h != nil && len(h.names) > 0 }

// Match returns the configured name the Host header value host (as in
// http.Request.Host: a name or IP literal with an optional port) stands for.
// ok is false for a name not in the list or a malformed host.
func (h *Hostnames) Match(host string) (name string, ok bool) {
	if !h.Enabled() {
		return "", false
	}
	hn, ok := splitHostPort(host)
	if !ok {
		return "", false
	}
	hn, ok = normHost(hn)
	if !ok {
		return "", false
	}
	name, ok = h.names[hn]
	return name, ok
}

// List returns the configured names (for logs and docs), unsorted.
func (h *Hostnames) List() []string {
	if h == nil {
		return nil
	}
	out := make([]string, 0, len(h.names))
	for n := range h.names {
		out = append(out, n)
	}
	return out
}

// splitHostPort drops an optional ":port" from a Host header value.
func splitHostPort(s string) (string, bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", false
		}
		rest := s[end+1:]
		if rest != "" && !validPort(rest) {
			return "", false
		}
		return s[1:end], true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.IndexByte(s[:i], ':') >= 0 {
			return "", false // an unbracketed IPv6 literal is not a valid Host
		}
		if !validPort(s[i:]) {
			return "", false
		}
		return s[:i], true
	}
	return s, true
}

func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normHost lowercases a DNS name (dropping one trailing dot) or
// canonicalizes an IP literal (brackets optional for IPv6).
func normHost(s string) (string, bool) {
	if t := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"); t != s {
		a, err := netip.ParseAddr(t)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return a.String(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		return a.Unmap().String(), true
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	lower := true
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		case 'A' <= c && c <= 'Z':
			lower = false
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return "", false
		}
		label++
		if label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	if !lower {
		s = strings.ToLower(s)
	}
	return s, true
}
