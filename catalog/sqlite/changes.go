package sqlite

import (
	"context"

	"github.com/gatehouse/gatehouse/catalog"
)

// maxChangeScan bounds how many audit entries ChangedEntities and
// ChangesSince read: more writes than that since a version is answered
// "not known" (reload all).
const maxChangeScan = 4096

// ChangedEntities returns the kinds of entity (the audit log's entity:
// "api", "subscription", "user", …) written by the writes that made the
// catalog versions after since, up to at least upto. complete is false when
// the audit log cannot account for every one of those versions (more than
// maxChangeScan entries to read, or entries missing): the caller must then
// assume anything changed. Every write that bumps the version appends its
// audit entry in the same transaction (Store.write), so a complete answer
// is exact. It reads the log newest first by its primary key: no index on
// version is needed.
func (s *Store) ChangedEntities(ctx context.Context, since, upto int64) (entities []string, complete bool, err error) {
	changes, complete, err := s.ChangesSince(ctx, since, upto)
	if err != nil || !complete {
		return nil, complete, err
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if !seen[c.Entity] {
			seen[c.Entity] = true
			entities = append(entities, c.Entity)
		}
	}
	return entities, true, nil
}

// ChangesSince returns the audit entries of the writes that made the
// catalog versions after since (up to at least upto), oldest first, with
// the entity and the entity ID each touched (ID, At and Actor are left
// zero). complete is as for ChangedEntities: false when the log cannot
// account for every version in (since, upto], and then changes is nil.
// Entries recorded after upto (writes that landed while this ran) are
// included: a caller re-reading what they name reads newer data, never
// older.
func (s *Store) ChangesSince(ctx context.Context, since, upto int64) (changes []catalog.AuditEntry, complete bool, err error) {
	if upto <= since {
		return nil, true, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT action, entity, entity_id, detail, version FROM audit_log ORDER BY id DESC LIMIT ?", maxChangeScan)
	if err != nil {
		return nil, false, mapErr(err)
	}
	defer rows.Close()
	versions := map[int64]bool{}
	// A batch (batch.go) writes many entries under one version: the scan
	// is complete only when it reached an older entry or the log's start.
	read, reachedOlder := 0, false
	for rows.Next() {
		read++
		var c catalog.AuditEntry
		if err := rows.Scan(&c.Action, &c.Entity, &c.EntityID, &c.Detail, &c.Version); err != nil {
			return nil, false, mapErr(err)
		}
		if c.Version <= since {
			reachedOlder = true
			break // entries are in version order: the rest are older
		}
		if c.Version <= upto {
			versions[c.Version] = true
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapErr(err)
	}
	if int64(len(versions)) != upto-since || !(reachedOlder || read < maxChangeScan) {
		return nil, false, nil
	}
	for i, j := 0, len(changes)-1; i < j; i, j = i+1, j-1 {
		changes[i], changes[j] = changes[j], changes[i]
	}
	return changes, true, nil
}
