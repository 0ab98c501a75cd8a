// Package egress enforces the egress rule (abi/egress) where the host
// connects out: a dialer that resolves a name once, checks every address
// it resolves to against the road's Scope, and connects to those checked
// addresses (never resolving again); a net.Dialer Control hook checks the
// address actually dialled once more. Transports and clients built here
// are what the gateway (API backends, overrides, redirects) and the JWKS
// fetcher use.
//
// The check runs per new connection, not per request: a pooled connection
// was checked when it was dialled. That is safe because a Transport made
// here serves one Scope only, and its pool is keyed by the host:port the
// Scope's decision depends on.
package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
)

// Resolver looks names up. *net.Resolver implements it; tests inject one
// that asks a DNS server they run.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Guard.
type Options struct {
	// Allow is the global allow-list (serve --egress-allow), merged into
	// every Scope the Guard makes.
	Allow []string
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver Resolver
	// DialTimeout bounds one connection attempt (5 s); KeepAlive is the
	// TCP keep-alive period (30 s).
	DialTimeout, KeepAlive time.Duration
	// Logger gets one warning per refused connection.
	Logger *slog.Logger
}

// Guard makes Scopes, dialers, transports and clients that enforce the
// egress rule. It is immutable and safe for concurrent use.
type Guard struct {
	global   rule.AllowList
	resolver Resolver
	timeout  time.Duration
	keep     time.Duration
	log      *slog.Logger
}

// New returns a Guard; the error names a bad global allow entry.
func New(o Options) (*Guard, error) {
	a, err := rule.ParseAllowList(o.Allow)
	if err != nil {
		return nil, err
	}
	g := &Guard{global: a, resolver: o.Resolver, timeout: o.DialTimeout, keep: o.KeepAlive, log: o.Logger}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	if g.timeout <= 0 {
		g.timeout = 5 * time.Second
	}
	if g.keep == 0 {
		g.keep = 30 * time.Second
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	return g, nil
}

// Global returns the global allow-list.
func (g *Guard) Global() rule.AllowList { return g.global }

// Scope returns the rule of a road: backend is the API's own configured
// backend URL ("" for a road without one, such as JWKS), allow its own
// allow-list (merged with the global one).
func (g *Guard) Scope(backend string, allow rule.AllowList) (*rule.Scope, error) {
	return rule.NewScope(backend, allow.Merge(g.global))
}

// DialContext returns a dial function for s: resolve, check every address,
// connect to a checked address. A refusal is a *rule.RefusedError (logged
// here with the road's name).
func (g *Guard) DialContext(s *rule.Scope, road string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := g.dial(ctx, s, network, addr)
		if err != nil && errors.Is(err, rule.ErrRefused) {
			g.log.Warn("egress refused", "road", road, "err", err)
		}
		return conn, err
	}
}

func (g *Guard) dial(ctx context.Context, s *rule.Scope, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("egress: network %q not supported", network)
	}
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	host, _, err := rule.SplitHost(joinHost(h))
	if err != nil {
		return nil, &rule.RefusedError{Target: addr, Reason: err.Error()}
	}
	if pn, err := strconv.Atoi(port); err != nil || pn < 1 || pn > 65535 {
		return nil, &rule.RefusedError{Target: addr, Reason: "invalid port"}
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		// localhost and metadata names: decided by name first, so that a
		// resolver answering something else for them cannot matter.
		if err := s.CheckName(host, port); err != nil {
			return nil, err
		}
		addrs, err = g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("egress: resolving %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("egress: %s has no address", host)
		}
	}
	// Every address must pass: a name with one public and one private
	// address is refused whole (DNS rebinding with mixed answers).
	for _, ip := range addrs {
		if err := s.CheckAddr(host, port, ip.WithZone("")); err != nil {
			return nil, err
		}
	}
	d := net.Dialer{Timeout: g.timeout, KeepAlive: g.keep, Control: func(_, address string, _ syscall.RawConn) error {
		// The address actually dialled, once more: no second resolution
		// can slip another one in.
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &rule.RefusedError{Target: address, Reason: "not an address"}
		}
		return s.CheckAddr(host, port, ap.Addr().WithZone(""))
	}}
	var first error
	for _, ip := range addrs {
		if network == "tcp4" && !ip.Unmap().Is4() || network == "tcp6" && !ip.Is6() {
			continue
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.WithZone("").String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = fmt.Errorf("egress: no %s address for %s", network, host)
	}
	return nil, first
}

func joinHost(h string) string {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			return "[" + h + "]"
		}
	}
	return h
}

// maxRedirects bounds the redirects a Client follows.
const maxRedirects = 10

// Client returns an HTTP client for a road without an API backend (JWKS
// fetches): its transport dials through s, and each redirect hop is
// checked (URL syntax, literal addresses, reserved names; the hop's
// addresses again at dial time); a redirect from https to http is refused.
func (g *Guard) Client(s *rule.Scope, road string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext(s, road),
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("egress: more than %d redirects", maxRedirects)
			}
			if err := CheckRedirect(s, via[len(via)-1].URL, req.URL); err != nil {
				g.log.Warn("egress refused", "road", road, "err", err)
				return err
			}
			return nil
		},
	}
}

// CheckRedirect checks one redirect hop from prev to next: https to http
// is refused; next must pass the scope's URL check (its query and fragment
// aside). It rewrites next's host to its normalized form.
func CheckRedirect(s *rule.Scope, prev, next *url.URL) error {
	if prev.Scheme == "https" && next.Scheme != "https" {
		return &rule.RefusedError{Target: next.Host, Reason: "redirect from https to " + next.Scheme + " refused"}
	}
	base := *next
	base.RawQuery, base.ForceQuery, base.Fragment, base.RawFragment = "", false, "", ""
	u, err := s.CheckURL(base.String())
	if err != nil {
		if errors.Is(err, rule.ErrRefused) {
			return err
		}
		return &rule.RefusedError{Target: next.Host, Reason: "redirect target: " + err.Error()}
	}
	next.Host = u.Host
	return nil
}
