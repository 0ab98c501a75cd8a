package sqlite

import (
	"context"
)

// maxChangeScan bounds how many audit entries ChangedEntities reads: more
// writes than that since a version is answered "not known" (reload all).
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
	if upto <= since {
		return nil, true, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT entity, version FROM audit_log ORDER BY id DESC LIMIT ?", maxChangeScan)
	if err != nil {
		return nil, false, mapErr(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	versions := map[int64]bool{}
	// A batch (batch.go) writes many entries under one version: the scan
	// is complete only when it reached an older entry or the log's start.
	read, reachedOlder := 0, false
	for rows.Next() {
		read++
		var e string
		var v int64
		if err := rows.Scan(&e, &v); err != nil {
			return nil, false, mapErr(err)
		}
		if v <= since {
			reachedOlder = true
			break // entries are in version order: the rest are older
		}
		if v <= upto {
			versions[v] = true
		}
		if !seen[e] {
			seen[e] = true
			entities = append(entities, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapErr(err)
	}
	return entities, int64(len(versions)) == upto-since && (reachedOlder || read < maxChangeScan), nil
}
