package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// SetModuleGrant replaces what is granted to one module version with g
// (capabilities and egress, each a subset of what the manifest requests;
// else a *FieldError). Granting less than before is refused with
// ErrConflict while a policy entry runs this version (pinned, or the
// version an unpinned reference resolves to): detach it first. The write
// is audited with the context's actor and the new grant.
func (s *Store) SetModuleGrant(ctx context.Context, name, version string, g catalog.ModuleGrant) (catalog.Module, error) {
	ref := name + "@" + version
	cur, err := s.GetModule(ctx, name, version) // manifests are immutable
	if err != nil {
		return catalog.Module{}, err
	}
	ng, err := cur.CheckGrant(g)
	if err != nil {
		return catalog.Module{}, err
	}
	now := s.now()
	at := time.Unix(0, now.UnixNano()).UTC()
	ng.By, ng.At = catalog.ActorFrom(ctx), &at
	var out catalog.Module
	err = s.write(ctx, audit{"grant", "module", ref, grantDetail(ng)}, func(tx *sql.Tx) error {
		mods, err := moduleVersions(ctx, tx, name)
		if err != nil {
			return err
		}
		idx := -1
		for i, m := range mods {
			if m.Version == version {
				idx = i
			}
		}
		if idx < 0 {
			return catalog.NotFoundf("module %s not found", ref)
		}
		after := append([]catalog.Module(nil), mods...)
		after[idx].Grant = ng
		if err := checkGrantInUse(ctx, tx, mods, after, mods[idx]); err != nil {
			return err
		}
		caps, _ := json.Marshal(ng.Capabilities)
		egress, _ := json.Marshal(ng.Egress)
		if _, err := tx.ExecContext(ctx, `UPDATE modules SET granted_caps = ?, granted_egress = ?, granted_by = ?, granted_at = ? WHERE name = ? AND version = ?`,
			string(caps), string(egress), ng.By, now.UnixNano(), name, version); err != nil {
			return err
		}
		out = after[idx]
		return nil
	})
	if err != nil {
		return catalog.Module{}, err
	}
	return out, nil
}

// checkGrantInUse refuses a grant change after which a policy entry that
// runs target no longer does (its version lost a grant it needs).
func checkGrantInUse(ctx context.Context, tx *sql.Tx, before, after []catalog.Module, target catalog.Module) error {
	return eachPolicyEntry(ctx, tx, func(d *catalog.PolicyDoc, sec string, i int, e catalog.PolicyEntry) error {
		for _, r := range []string{e.Module, e.Fallback} {
			if e.Base || r == "" {
				continue
			}
			if n, _, err := catalog.ParseModuleRef(r); err != nil || n != target.Name {
				continue
			}
			was, err := catalog.ResolveGranted(before, r)
			if err != nil || was.Version != target.Version {
				continue
			}
			if now, err := catalog.ResolveGranted(after, r); err != nil || now.Version != target.Version {
				missing := ""
				for _, m := range after {
					if m.Version == target.Version {
						missing = strings.Join(m.MissingGrants(), ", ")
					}
				}
				return catalog.Conflictf("module %s@%s is used by the policy of %s %s (%s[%d]); it would then miss %s: detach it first",
					target.Name, target.Version, d.Scope, d.ScopeID, sec, i, missing)
			}
		}
		return nil
	})
}

// RecordRead writes an audit entry for a read of sensitive data (a secret
// named value, subscription keys) by the context's actor. Reads do not
// change the catalog: the entry carries the current catalog version.
func (s *Store) RecordRead(ctx context.Context, entity, id, detail string) error {
	return s.RecordAction(ctx, "read", entity, id, detail)
}

// RecordAction appends an audit row for an admin action that writes no
// catalog entity (the catalog version is not bumped), with the context's
// actor.
func (s *Store) RecordAction(ctx context.Context, action, entity, id, detail string) error {
	if action == "" || entity == "" || id == "" {
		return errors.New("sqlite: RecordAction needs an action, an entity and an id")
	}
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version)
		VALUES (?, ?, ?, ?, ?, ?, (SELECT version FROM catalog_version WHERE id = 1))`,
		s.now().UnixNano(), catalog.ActorFrom(ctx), action, entity, id, detail)
	return mapErr(err)
}
