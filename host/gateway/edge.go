package gateway

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/host/edge"
)

// EdgeConfig is the request edge: which proxies are trusted to say who the
// client is, through which header, and the hostnames the gateway is served
// under. It is set by serve flags (Options.Edge) and may be given in a YAML
// config's `edge:` section, which then replaces the flags' values on each
// load.
type EdgeConfig struct {
	// TrustedProxies are addresses or CIDR prefixes of the proxies in front
	// of the gateway (load balancers, CDNs). Empty: the TCP peer is the
	// client and forwarding headers are ignored.
	TrustedProxies []string `yaml:"trusted_proxies" json:"trusted_proxies,omitempty"`
	// ForwardedHeader is the header believed from trusted proxies:
	// "X-Forwarded-For" (default; the right-most address that is not a
	// trusted proxy is the client) or "Forwarded" (RFC 7239 for= nodes).
	ForwardedHeader string `yaml:"forwarded_header" json:"forwarded_header,omitempty"`
	// Hostnames the gateway is served under. Empty: any Host is accepted
	// and no X-Forwarded-Host is sent to backends. Otherwise a request for
	// another Host gets 421, and backends get X-Forwarded-Host with the
	// configured name.
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
}

// edgeState is a parsed EdgeConfig, swapped atomically.
type edgeState struct {
	proxies   *edge.Proxies
	hostnames *edge.Hostnames
}

func (c EdgeConfig) parse() (*edgeState, error) {
	p, err := edge.NewProxies(c.TrustedProxies, c.ForwardedHeader)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	h, err := edge.NewHostnames(c.Hostnames)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	return &edgeState{proxies: p, hostnames: h}, nil
}

// setHeader1 sets h[key] to the single value v, reusing a one-element slice
// already there; an empty v deletes the header.
func setHeader1(h http.Header, key, v string) {
	if v == "" {
		delete(h, key)
		return
	}
	if cur := h[key]; len(cur) == 1 {
		cur[0] = v
		return
	}
	h[key] = []string{v}
}
