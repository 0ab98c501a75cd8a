package sqlite

import "context"

// ModuleVersionNames returns the versions stored under one module name,
// in no particular order. It reads only the primary-key index: unlike
// ListModules, whose columns after the wasm blob make SQLite walk every
// module's overflow pages, it costs the same for a 5 MB module as for an
// empty one (the start of `serve`, which checks the built-in module's
// registration, used to read the whole 5 MB).
func (s *Store) ModuleVersionNames(ctx context.Context, name string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM modules WHERE name = ?`, name)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}
