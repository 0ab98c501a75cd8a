package catalogsource

import (
	"context"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// ChangeLog is implemented by a store that can tell which kinds of entity
// the writes after a version touched (*sqlite.Store, from its audit log).
type ChangeLog interface {
	ChangedEntities(ctx context.Context, since, upto int64) (entities []string, complete bool, err error)
}

// keyOnly are the entities no part of the gateway config is built from:
// subscriptions and users are looked up per key (LookupSubscription),
// groups only decide what the portal shows, admins and their tokens only
// the admin API.
// Certificates are served by the edge, which reloads them itself
// (cmd/gatehouse serve_tls.go): the gateway config has none.
var keyOnly = map[string]bool{"subscription": true, "user": true, "group": true, "admin": true, "admin-token": true, "certificate": true}

// unchanged is Load's fast path: when every write since the last full Load
// touched only keyOnly entities, it returns the last config marked
// Unchanged under the new version (and moves the lookup state to that
// version, which invalidates the key cache), without reading the catalog.
// A revocation is then served after one poll, whatever the catalog's size.
// nil means: load everything.
func (s *Source) unchanged(ctx context.Context) *gateway.Config {
	cl, ok := s.store.(ChangeLog)
	last, st := s.last.Load(), s.state.Load()
	if !ok || last == nil || st == nil || st.version < 0 {
		return nil
	}
	ver, err := s.store.Version(ctx)
	if err != nil || ver <= st.version {
		return nil
	}
	ents, complete, err := cl.ChangedEntities(ctx, st.version, ver)
	if err != nil || !complete {
		return nil
	}
	for _, e := range ents {
		if !keyOnly[e] {
			return nil
		}
	}
	next := *st
	next.version = ver
	cfg := *last
	cfg.Version = ver
	cfg.Unchanged = true
	s.last.Store(&cfg)
	s.state.Store(&next)
	return &cfg
}
