package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/catalog"
)

const apiCols = `id, name, path_prefix, backend_url, version, revision, subscription_required, key_header, key_query, allow_query_key, egress_allow, console_trace_disabled, transport`

type scanner interface{ Scan(dest ...any) error }

func scanAPI(row scanner, extra ...any) (catalog.API, error) {
	var a catalog.API
	var egress, transport string
	dest := append([]any{&a.ID, &a.Name, &a.PathPrefix, &a.BackendURL, &a.Version, &a.Revision,
		&a.SubscriptionRequired, &a.KeyHeader, &a.KeyQuery, &a.AllowQueryKey, &egress, &a.ConsoleTraceDisabled, &transport}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	if egress != "" {
		if err := json.Unmarshal([]byte(egress), &a.EgressAllow); err != nil {
			return a, fmt.Errorf("api %s: egress_allow: %w", a.ID, err)
		}
	}
	if err := scanTransport(&a, transport); err != nil {
		return a, err
	}
	return a, nil
}

// egressText encodes an API's egress allow-list for its column.
func egressText(a catalog.API) string {
	if len(a.EgressAllow) == 0 {
		return ""
	}
	b, _ := json.Marshal(a.EgressAllow)
	return string(b)
}

// CreateAPI stores a new API. An empty ID is generated; key carrier names
// and revision get their defaults.
func (s *Store) CreateAPI(ctx context.Context, a catalog.API) (catalog.API, error) {
	if a.ID == "" {
		a.ID = newID()
	}
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		return catalog.API{}, err
	}
	err := s.write(ctx, audit{"create", "api", a.ID, a.Name}, func(tx *sql.Tx) error {
		if err := s.checkClientKey(ctx, tx, a); err != nil {
			return err
		}
		now := s.now().UnixNano()
		_, err := tx.ExecContext(ctx, `INSERT INTO apis (`+apiCols+`, openapi_doc, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.PathPrefix, a.BackendURL, a.Version, a.Revision, b2i(a.SubscriptionRequired),
			a.KeyHeader, a.KeyQuery, b2i(a.AllowQueryKey), egressText(a), b2i(a.ConsoleTraceDisabled), transportText(a), a.OpenAPIDoc, now, now)
		return err
	})
	if err != nil {
		return catalog.API{}, err
	}
	return a, nil
}

// GetAPI returns one API, including its OpenAPI document.
func (s *Store) GetAPI(ctx context.Context, id string) (catalog.API, error) {
	var doc []byte
	a, err := scanAPI(s.r.QueryRowContext(ctx, `SELECT `+apiCols+`, openapi_doc FROM apis WHERE id = ?`, id), &doc)
	if err != nil {
		return catalog.API{}, notFound(err, "api", id)
	}
	a.OpenAPIDoc = doc
	return a, nil
}

// ListAPIs returns every API ordered by name, without OpenAPI documents
// (use GetAPI for those).
func (s *Store) ListAPIs(ctx context.Context) ([]catalog.API, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiCols+` FROM apis ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.API
	for rows.Next() {
		a, err := scanAPI(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

// UpdateAPI replaces every field of the API with ID a.ID.
func (s *Store) UpdateAPI(ctx context.Context, a catalog.API) (catalog.API, error) {
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		return catalog.API{}, err
	}
	err := s.write(ctx, audit{"update", "api", a.ID, a.Name}, func(tx *sql.Tx) error {
		if err := s.checkClientKey(ctx, tx, a); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE apis SET name = ?, path_prefix = ?, backend_url = ?, version = ?,
		revision = ?, subscription_required = ?, key_header = ?, key_query = ?, allow_query_key = ?,
		egress_allow = ?, console_trace_disabled = ?, transport = ?, openapi_doc = ?, updated_at = ? WHERE id = ?`,
			a.Name, a.PathPrefix, a.BackendURL, a.Version, a.Revision, b2i(a.SubscriptionRequired),
			a.KeyHeader, a.KeyQuery, b2i(a.AllowQueryKey), egressText(a), b2i(a.ConsoleTraceDisabled), transportText(a), a.OpenAPIDoc, s.now().UnixNano(), a.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, "api", a.ID)
	})
	if err != nil {
		return catalog.API{}, err
	}
	return a, nil
}

// DeleteAPI deletes an API with its operations, product links and policy
// documents. It fails with ErrConflict while subscriptions scoped to the
// API exist.
func (s *Store) DeleteAPI(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "api", id, ""}, "api", id, `DELETE FROM apis WHERE id = ?`, id)
}

const opCols = `id, api_id, name, method, url_template`

func scanOp(row scanner) (catalog.Operation, error) {
	var o catalog.Operation
	err := row.Scan(&o.ID, &o.APIID, &o.Name, &o.Method, &o.URLTemplate)
	return o, err
}

// CreateOperation adds an operation to an API (ErrConflict if the API does
// not exist or the name or method + template is taken).
func (s *Store) CreateOperation(ctx context.Context, o catalog.Operation) (catalog.Operation, error) {
	if o.ID == "" {
		o.ID = newID()
	}
	if err := o.Validate(); err != nil {
		return catalog.Operation{}, err
	}
	err := s.write(ctx, audit{"create", "operation", o.ID, o.Method + " " + o.URLTemplate}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operations (`+opCols+`) VALUES (?, ?, ?, ?, ?)`,
			o.ID, o.APIID, o.Name, o.Method, o.URLTemplate)
		return err
	})
	if err != nil {
		return catalog.Operation{}, err
	}
	return o, nil
}

// GetOperation returns one operation.
func (s *Store) GetOperation(ctx context.Context, id string) (catalog.Operation, error) {
	o, err := scanOp(s.r.QueryRowContext(ctx, `SELECT `+opCols+` FROM operations WHERE id = ?`, id))
	if err != nil {
		return catalog.Operation{}, notFound(err, "operation", id)
	}
	return o, nil
}

// ListOperations returns the operations of one API, or of every API when
// apiID is empty, ordered by API, template and method.
func (s *Store) ListOperations(ctx context.Context, apiID string) ([]catalog.Operation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+opCols+` FROM operations WHERE ? = '' OR api_id = ?
		ORDER BY api_id, url_template, method`, apiID, apiID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.Operation
	for rows.Next() {
		o, err := scanOp(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, o)
	}
	return out, mapErr(rows.Err())
}

// UpdateOperation replaces the name, method and template of the operation
// with ID o.ID; its API cannot change.
func (s *Store) UpdateOperation(ctx context.Context, o catalog.Operation) (catalog.Operation, error) {
	if err := o.Validate(); err != nil {
		return catalog.Operation{}, err
	}
	err := s.writeOne(ctx, audit{"update", "operation", o.ID, o.Method + " " + o.URLTemplate}, "operation", o.ID, `UPDATE operations SET name = ?, method = ?, url_template = ?
		WHERE id = ? AND api_id = ?`, o.Name, o.Method, o.URLTemplate, o.ID, o.APIID)
	if err != nil {
		return catalog.Operation{}, err
	}
	return o, nil
}

// DeleteOperation deletes an operation and its policy document.
func (s *Store) DeleteOperation(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "operation", id, ""}, "operation", id, `DELETE FROM operations WHERE id = ?`, id)
}
