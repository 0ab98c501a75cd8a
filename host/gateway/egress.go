package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/h1client"
)

// Egress: every API gets its egress Scope (its own backend, its allow-list
// merged with the config's and the Guard's global ones) and a backend
// transport that dials only through that Scope (host/egress). One transport
// per Scope, because a pooled connection is reused without a new dial:
// a connection one API's rule allowed must never serve another API's
// request. Transports are kept across snapshots while their Scope is
// unchanged, so a catalog write does not drop pooled connections.

// transports holds the per-Scope backend transports of the current and the
// previous snapshot.
type transports struct {
	mu sync.Mutex
	m  map[string]backendTransport
}

// backendTransport is an API's transport: h1client's (HTTP/1.1 backends:
// the round trip in the handler's goroutine, net/http's for what it does
// not handle) or net/http's (h2, h2c).
type backendTransport interface {
	http.RoundTripper
	CloseIdleConnections()
}

// apiEgress returns an API's Scope and the transport that enforces it (the
// Options.Transport, unchecked at dial time, when the embedder set one).
func (g *Gateway) apiEgress(a *API, global, granted rule.AllowList) (*rule.Scope, http.RoundTripper, string, error) {
	allow, err := a.egressAllow(global)
	if err != nil {
		return nil, nil, "", err
	}
	allow = allow.Merge(granted)
	s, err := g.guard.Scope(a.Backend, allow)
	if err != nil {
		return nil, nil, "", err
	}
	if g.opts.Transport != nil {
		return s, g.opts.Transport, "", nil
	}
	bc, err := a.backendSettings() // backendtls.go
	if err != nil {
		return nil, nil, "", err
	}
	key := a.Name + "\x00" + s.Own() + "\x00" + strings.Join(s.Allow().Entries(), "\x00") + "\x00" + bc.key
	g.trs.mu.Lock()
	defer g.trs.mu.Unlock()
	if t, ok := g.trs.m[key]; ok {
		return s, t, key, nil
	}
	nt := NewTransport()
	nt.DialContext = g.guard.DialContext(s, "api "+a.Name)
	bc.configure(nt)
	var t backendTransport = nt
	if bc.protocol == BackendHTTP1 {
		t = h1client.New(nt) // dials with nt.DialContext: the same egress check
	}
	if g.trs.m == nil {
		g.trs.m = map[string]backendTransport{}
	}
	g.trs.m[key] = t
	return s, t, key, nil
}

// pruneTransports closes the idle connections of transports no API of the
// new snapshot uses, and forgets them (requests of the old snapshot still
// holding one finish normally; its connections then idle out).
func (g *Gateway) pruneTransports(keep map[string]bool) {
	g.trs.mu.Lock()
	defer g.trs.mu.Unlock()
	for k, t := range g.trs.m {
		if !keep[k] {
			t.CloseIdleConnections()
			delete(g.trs.m, k)
		}
	}
}

func (g *Gateway) closeIdleTransports() {
	g.trs.mu.Lock()
	defer g.trs.mu.Unlock()
	for _, t := range g.trs.m {
		t.CloseIdleConnections()
	}
}

// egressGuard returns the Guard of o, or a default one (system resolver,
// no global allow-list).
func egressGuard(o *Options) (*egress.Guard, error) {
	if o.Egress != nil {
		return o.Egress, nil
	}
	return egress.New(egress.Options{Logger: o.Logger})
}

// moduleEgress returns, per module name a step may reference, the egress
// an admin granted it (ModuleSpec.GrantedEgress).
func moduleEgress(cfg *Config) (map[string]rule.AllowList, error) {
	out := map[string]rule.AllowList{}
	for _, m := range cfg.Modules {
		if len(m.GrantedEgress) == 0 {
			continue
		}
		al, err := rule.ParseAllowList(m.GrantedEgress)
		if err != nil {
			return nil, fmt.Errorf("module %s: granted_egress: %w", m.Name, err)
		}
		out[m.Name] = al
	}
	return out, nil
}

// grantedEgress is the union of the egress granted to the modules whose
// steps can run for API a: the global chain, the API's, and its
// operations' (product-scope steps are flattened into these).
func grantedEgress(cfg *Config, a *API, byModule map[string]rule.AllowList) rule.AllowList {
	var out rule.AllowList
	if len(byModule) == 0 {
		return out
	}
	add := func(p *Policy) {
		for i := 0; i < numSections; i++ {
			for _, st := range p.section(i) {
				if al, ok := byModule[st.Module]; ok {
					out = out.Merge(al)
				}
			}
		}
	}
	add(&cfg.Policies)
	add(&a.Policies)
	for j := range a.Operations {
		add(&a.Operations[j].Policies)
	}
	return out
}
