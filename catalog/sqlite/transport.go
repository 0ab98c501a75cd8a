package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/catalog"
)

// An API's transport settings live in the apis.transport column as JSON
// (migration 0009); the backend client key is a secret named value the
// settings name (catalog/transport.go).

func scanTransport(a *catalog.API, text string) error {
	if text == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), &a.APITransport); err != nil {
		return fmt.Errorf("api %s: transport: %w", a.ID, err)
	}
	return nil
}

// transportText encodes an API's transport settings for their column.
func transportText(a catalog.API) string {
	if a.APITransport.IsZero() {
		return ""
	}
	b, _ := json.Marshal(a.APITransport)
	return string(b)
}

// checkClientKey checks, inside the write's transaction, that the named
// value an API's backend TLS names for its client key exists, is secret
// and holds the key of the API's client certificate.
func (s *Store) checkClientKey(ctx context.Context, tx *sql.Tx, a catalog.API) error {
	b := a.BackendTLS
	if b == nil || b.ClientKeyNamedValue == "" {
		return nil
	}
	const path = "backendTls.clientKeyNamedValue"
	n, err := s.scanNamedValue(tx.QueryRowContext(ctx, `SELECT name, value, value_sealed, secret FROM named_values WHERE name = ?`, b.ClientKeyNamedValue))
	if errors.Is(err, sql.ErrNoRows) {
		return &catalog.FieldError{Path: path, Msg: (&catalog.UnknownNamedValueError{Names: []string{b.ClientKeyNamedValue}}).Error()}
	}
	if err != nil {
		return err
	}
	if !n.Secret {
		return &catalog.FieldError{Path: path, Msg: fmt.Sprintf("named value %q is not secret: a private key is kept only in a secret named value (sealed at rest)", n.Name)}
	}
	return catalog.CheckClientKey(b.ClientCertPEM, n.Value)
}

// apisUsingKey returns the APIs whose backend TLS names the named value
// as their client key.
func apisUsingKey(ctx context.Context, tx *sql.Tx, name string) ([]catalog.API, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+apiCols+` FROM apis WHERE transport != '' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.API
	for rows.Next() {
		a, err := scanAPI(rows)
		if err != nil {
			return nil, err
		}
		if a.BackendTLS != nil && a.BackendTLS.ClientKeyNamedValue == name {
			out = append(out, a)
		}
	}
	return out, rows.Err()
}

// checkKeyValueChange refuses, inside a named value's write, to delete
// (n nil), make non-secret, or change to a key that no longer matches,
// a named value an API uses as its backend client key.
func checkKeyValueChange(ctx context.Context, tx *sql.Tx, name string, n *catalog.NamedValue) error {
	apis, err := apisUsingKey(ctx, tx, name)
	if err != nil || len(apis) == 0 {
		return err
	}
	a := apis[0]
	switch {
	case n == nil:
		return catalog.Conflictf("named value %q is the backend client key of API %s (backendTls.clientKeyNamedValue)", name, a.ID)
	case !n.Secret:
		return &catalog.FieldError{Path: "secret", Msg: fmt.Sprintf("named value %q is the backend client key of API %s and must stay secret", name, a.ID)}
	}
	for _, a := range apis {
		if err := catalog.CheckClientKey(a.BackendTLS.ClientCertPEM, n.Value); err != nil {
			return &catalog.FieldError{Path: "value", Msg: fmt.Sprintf("named value %q is the backend client key of API %s: the new value does not match its clientCertPem", name, a.ID)}
		}
	}
	return nil
}
