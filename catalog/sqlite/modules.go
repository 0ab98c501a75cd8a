package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// CreateModule stores a module version. Versions are immutable: storing an
// existing name@version fails with ErrConflict. An empty SHA256 is computed.
// A non-empty m.Grant (a subset of what the manifest requests) is stored
// as granted by the context's actor at upload.
func (s *Store) CreateModule(ctx context.Context, m catalog.Module) (catalog.Module, error) {
	if err := m.Validate(); err != nil {
		return catalog.Module{}, err
	}
	manifest, err := json.Marshal(m.Manifest)
	if err != nil {
		return catalog.Module{}, &catalog.FieldError{Path: "manifest", Msg: err.Error()}
	}
	now := s.now()
	m.CreatedAt = time.Unix(0, now.UnixNano()).UTC()
	m.Grant, _ = m.CheckGrant(m.Grant) // Validate checked it
	m.Grant.By, m.Grant.At = "", nil
	var grantedAt int64
	if !m.Grant.Empty() {
		m.Grant.By, m.Grant.At, grantedAt = catalog.ActorFrom(ctx), &m.CreatedAt, now.UnixNano()
	}
	caps, _ := json.Marshal(m.Grant.Capabilities)
	egress, _ := json.Marshal(m.Grant.Egress)
	detail := m.SHA256
	if !m.Grant.Empty() {
		detail += " " + grantDetail(m.Grant)
	}
	err = s.write(ctx, audit{"create", "module", m.Name + "@" + m.Version, detail}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO modules (name, version, sha256, wasm, manifest, created_at, granted_caps, granted_egress, granted_by, granted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.Name, m.Version, m.SHA256, m.Wasm, string(manifest), now.UnixNano(),
			string(caps), string(egress), m.Grant.By, grantedAt)
		return err
	})
	if err != nil {
		return catalog.Module{}, err
	}
	return m, nil
}

func grantDetail(g catalog.ModuleGrant) string {
	return "capabilities=" + strings.Join(g.Capabilities, ",") + " egress=" + strings.Join(g.Egress, ",")
}

// moduleCols are the columns scanModule reads, in order.
const moduleCols = `name, version, sha256, manifest, created_at, granted_caps, granted_egress, granted_by, granted_at`

func scanModule(row scanner, extra ...any) (catalog.Module, error) {
	var m catalog.Module
	var manifest, caps, egress string
	var created, grantedAt int64
	if err := row.Scan(append([]any{&m.Name, &m.Version, &m.SHA256, &manifest, &created, &caps, &egress, &m.Grant.By, &grantedAt}, extra...)...); err != nil {
		return catalog.Module{}, err
	}
	if err := json.Unmarshal([]byte(manifest), &m.Manifest); err != nil {
		return catalog.Module{}, fmt.Errorf("module %s@%s: corrupt manifest: %w", m.Name, m.Version, err)
	}
	if err := json.Unmarshal([]byte(caps), &m.Grant.Capabilities); err != nil {
		return catalog.Module{}, fmt.Errorf("module %s@%s: corrupt grant: %w", m.Name, m.Version, err)
	}
	if err := json.Unmarshal([]byte(egress), &m.Grant.Egress); err != nil {
		return catalog.Module{}, fmt.Errorf("module %s@%s: corrupt grant: %w", m.Name, m.Version, err)
	}
	if grantedAt != 0 {
		t := time.Unix(0, grantedAt).UTC()
		m.Grant.At = &t
	}
	m.CreatedAt = time.Unix(0, created).UTC()
	return m, nil
}

// GetModule returns one module version including its wasm bytes.
func (s *Store) GetModule(ctx context.Context, name, version string) (catalog.Module, error) {
	var wasm []byte
	m, err := scanModule(s.r.QueryRowContext(ctx, `SELECT `+moduleCols+`, wasm
		FROM modules WHERE name = ? AND version = ?`, name, version), &wasm)
	if err != nil {
		return catalog.Module{}, notFound(err, "module", name+"@"+version)
	}
	m.Wasm = wasm
	return m, nil
}

// ListModules returns every module version without wasm bytes, ordered by
// name and upload time.
func (s *Store) ListModules(ctx context.Context) ([]catalog.Module, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+moduleCols+` FROM modules ORDER BY name, created_at, version`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.Module
	for rows.Next() {
		m, err := scanModule(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, m)
	}
	return out, mapErr(rows.Err())
}

// DeleteModule deletes one module version.
//
// A module version a policy document still uses is not deleted
// (ErrConflict): one named exactly (name@version), or the last granted
// version of a name that a document references without a version.
func (s *Store) DeleteModule(ctx context.Context, name, version string) error {
	ref := name + "@" + version
	return s.write(ctx, audit{"delete", "module", ref, ""}, func(tx *sql.Tx) error {
		before, err := moduleVersions(ctx, tx, name)
		if err != nil {
			return err
		}
		after := slices.DeleteFunc(slices.Clone(before), func(m catalog.Module) bool { return m.Version == version })
		// An unpinned reference loses its module when no granted version
		// is left for it (it falls back to another granted version else).
		orphaned := func(r string) bool {
			if _, err := catalog.ResolveGranted(before, r); err != nil {
				return false
			}
			_, err := catalog.ResolveGranted(after, r)
			return err != nil
		}
		err = eachPolicyEntry(ctx, tx, func(d *catalog.PolicyDoc, _ string, _ int, e catalog.PolicyEntry) error {
			for _, r := range []string{e.Module, e.Fallback} {
				if r == ref || (r == name && orphaned(r)) {
					return catalog.Conflictf("module %s is used by the policy of %s %s", ref, d.Scope, d.ScopeID)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM modules WHERE name = ? AND version = ?`, name, version)
		if err != nil {
			return err
		}
		return mustAffect(res, "module", ref)
	})
}

// policyBody is the stored JSON of a policy document's sections.
type policyBody struct {
	Inbound  []catalog.PolicyEntry `json:"inbound"`
	Backend  []catalog.PolicyEntry `json:"backend"`
	Outbound []catalog.PolicyEntry `json:"outbound"`
	OnError  []catalog.PolicyEntry `json:"onError"`
}

var scopeTable = map[catalog.Scope]string{
	catalog.ScopeProduct:   "products",
	catalog.ScopeAPI:       "apis",
	catalog.ScopeOperation: "operations",
}

// SetPolicy creates or replaces the policy document of d.Scope/d.ScopeID.
// The scope target must exist (else ErrConflict) and every module an entry
// references must be stored (else a *FieldError naming the entry).
func (s *Store) SetPolicy(ctx context.Context, d catalog.PolicyDoc) error {
	if err := d.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(policyBody{d.Inbound, d.Backend, d.Outbound, d.OnError})
	if err != nil {
		return &catalog.FieldError{Msg: err.Error()}
	}
	return s.write(ctx, audit{"set", "policy", string(d.Scope) + "/" + d.ScopeID, ""}, func(tx *sql.Tx) error {
		if t, ok := scopeTable[d.Scope]; ok {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+t+` WHERE id = ?`, d.ScopeID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return catalog.Conflictf("%s %q does not exist", d.Scope, d.ScopeID)
			}
			if err != nil {
				return err
			}
		}
		if err := checkModuleRefs(ctx, tx, d, s.moduleVersionsFor(ctx)); err != nil {
			return err
		}
		if err := checkNamedValueRefs(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO policies (scope, scope_id, doc, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope, scope_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
			string(d.Scope), d.ScopeID, string(body), s.now().UnixNano())
		return err
	})
}

func checkModuleRefs(ctx context.Context, tx *sql.Tx, d catalog.PolicyDoc, load func(context.Context, *sql.Tx, string) ([]catalog.Module, error)) error {
	versions := map[string][]catalog.Module{}
	for _, sec := range d.Sections() {
		for i, e := range sec.Entries {
			for _, r := range [...]struct{ field, ref string }{{"module", e.Module}, {"fallback", e.Fallback}} {
				field, ref := r.field, r.ref
				if e.Base || ref == "" {
					continue
				}
				name, _, _ := catalog.ParseModuleRef(ref)
				mods, ok := versions[name]
				if !ok {
					var err error
					if mods, err = load(ctx, tx, name); err != nil {
						return err
					}
					versions[name] = mods
				}
				if _, err := catalog.ResolveGranted(mods, ref); err != nil {
					return &catalog.FieldError{Path: fmt.Sprintf("%s[%d].%s", sec.Name, i, field), Msg: err.Error()}
				}
			}
		}
	}
	return nil
}

// moduleVersions returns every version of one module name in upload order
// (as ListModules orders them), without wasm bytes.
func moduleVersions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, name string) ([]catalog.Module, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+moduleCols+` FROM modules WHERE name = ? ORDER BY created_at, version`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Module
	for rows.Next() {
		m, err := scanModule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanPolicy(row scanner) (catalog.PolicyDoc, error) {
	var d catalog.PolicyDoc
	var scope, doc string
	if err := row.Scan(&scope, &d.ScopeID, &doc); err != nil {
		return catalog.PolicyDoc{}, err
	}
	d.Scope = catalog.Scope(scope)
	var b policyBody
	if err := json.Unmarshal([]byte(doc), &b); err != nil {
		return catalog.PolicyDoc{}, fmt.Errorf("policy %s/%s: corrupt document: %w", scope, d.ScopeID, err)
	}
	d.Inbound, d.Backend, d.Outbound, d.OnError = b.Inbound, b.Backend, b.Outbound, b.OnError
	return d, nil
}

// GetPolicy returns the policy document of one scope.
func (s *Store) GetPolicy(ctx context.Context, scope catalog.Scope, scopeID string) (catalog.PolicyDoc, error) {
	d, err := scanPolicy(s.r.QueryRowContext(ctx, `SELECT scope, scope_id, doc FROM policies WHERE scope = ? AND scope_id = ?`, string(scope), scopeID))
	if err != nil {
		return catalog.PolicyDoc{}, notFound(err, "policy", string(scope)+"/"+scopeID)
	}
	return d, nil
}

// ListPolicies returns every policy document ordered by scope and ID.
func (s *Store) ListPolicies(ctx context.Context) ([]catalog.PolicyDoc, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scope, scope_id, doc FROM policies ORDER BY scope, scope_id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.PolicyDoc
	for rows.Next() {
		d, err := scanPolicy(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, d)
	}
	return out, mapErr(rows.Err())
}

// DeletePolicy deletes the policy document of one scope.
func (s *Store) DeletePolicy(ctx context.Context, scope catalog.Scope, scopeID string) error {
	return s.writeOne(ctx, audit{"delete", "policy", string(scope) + "/" + scopeID, ""}, "policy", string(scope)+"/"+scopeID, `DELETE FROM policies WHERE scope = ? AND scope_id = ?`, string(scope), scopeID)
}

func namedValueAD(name string) []byte { return []byte("named-value\x00" + name) }

// CreateNamedValue stores a new named value; secret values are sealed
// with the master key.
func (s *Store) CreateNamedValue(ctx context.Context, n catalog.NamedValue) (catalog.NamedValue, error) {
	return s.putNamedValue(ctx, n, false)
}

// UpdateNamedValue replaces the value and secrecy of an existing named value.
func (s *Store) UpdateNamedValue(ctx context.Context, n catalog.NamedValue) (catalog.NamedValue, error) {
	return s.putNamedValue(ctx, n, true)
}

func (s *Store) putNamedValue(ctx context.Context, n catalog.NamedValue, update bool) (catalog.NamedValue, error) {
	if err := n.Validate(); err != nil {
		return catalog.NamedValue{}, err
	}
	plain, sealed := n.Value, []byte(nil)
	if n.Secret {
		var err error
		if sealed, err = s.sealer.Seal([]byte(n.Value), namedValueAD(n.Name)); err != nil {
			return catalog.NamedValue{}, err
		}
		plain = ""
	}
	action := "create"
	if update {
		action = "update"
	}
	err := s.write(ctx, audit{action, "named-value", n.Name, fmt.Sprintf("secret=%t", n.Secret)}, func(tx *sql.Tx) error {
		if !update {
			_, err := tx.ExecContext(ctx, `INSERT INTO named_values (name, value, value_sealed, secret) VALUES (?, ?, ?, ?)`,
				n.Name, plain, sealed, b2i(n.Secret))
			return err
		}
		if err := checkKeyValueChange(ctx, tx, n.Name, &n); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE named_values SET value = ?, value_sealed = ?, secret = ? WHERE name = ?`,
			plain, sealed, b2i(n.Secret), n.Name)
		if err != nil {
			return err
		}
		return mustAffect(res, "named value", n.Name)
	})
	if err != nil {
		return catalog.NamedValue{}, err
	}
	return n, nil
}

func (s *Store) scanNamedValue(row scanner) (catalog.NamedValue, error) {
	var n catalog.NamedValue
	var sealed []byte
	if err := row.Scan(&n.Name, &n.Value, &sealed, &n.Secret); err != nil {
		return catalog.NamedValue{}, err
	}
	if n.Secret {
		pt, err := s.sealer.Open(sealed, namedValueAD(n.Name))
		if err != nil {
			return catalog.NamedValue{}, fmt.Errorf("named value %q: %w", n.Name, err)
		}
		n.Value = string(pt)
	}
	return n, nil
}

// GetNamedValue returns one named value, decrypting a secret one.
func (s *Store) GetNamedValue(ctx context.Context, name string) (catalog.NamedValue, error) {
	n, err := s.scanNamedValue(s.r.QueryRowContext(ctx, `SELECT name, value, value_sealed, secret FROM named_values WHERE name = ?`, name))
	if err != nil {
		return catalog.NamedValue{}, notFound(err, "named value", name)
	}
	return n, nil
}

// ListNamedValues returns every named value ordered by name, decrypting
// secret ones (callers that display them must mask secrets).
func (s *Store) ListNamedValues(ctx context.Context) ([]catalog.NamedValue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, value, value_sealed, secret FROM named_values ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.NamedValue
	for rows.Next() {
		n, err := s.scanNamedValue(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, n)
	}
	return out, mapErr(rows.Err())
}

// DeleteNamedValue deletes one named value; ErrConflict while a policy
// config references it ({{name}}).
func (s *Store) DeleteNamedValue(ctx context.Context, name string) error {
	return s.write(ctx, audit{"delete", "named-value", name, ""}, func(tx *sql.Tx) error {
		err := eachPolicyEntry(ctx, tx, func(d *catalog.PolicyDoc, sec string, i int, e catalog.PolicyEntry) error {
			if slices.Contains(catalog.NamedValueRefs(e.Config), name) {
				return catalog.Conflictf("named value %q is referenced by the policy of %s %s (%s[%d].config)", name, d.Scope, d.ScopeID, sec, i)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := checkKeyValueChange(ctx, tx, name, nil); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM named_values WHERE name = ?`, name)
		if err != nil {
			return err
		}
		return mustAffect(res, "named value", name)
	})
}

// checkNamedValueRefs refuses a document whose configs reference named
// values that do not exist, naming the entry and the names.
func checkNamedValueRefs(ctx context.Context, tx *sql.Tx, d catalog.PolicyDoc) error {
	for _, sec := range d.Sections() {
		for i, e := range sec.Entries {
			var unknown []string
			for _, n := range catalog.NamedValueRefs(e.Config) {
				var one int
				err := tx.QueryRowContext(ctx, `SELECT 1 FROM named_values WHERE name = ?`, n).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					unknown = append(unknown, n)
				} else if err != nil {
					return err
				}
			}
			if len(unknown) > 0 {
				return &catalog.FieldError{Path: fmt.Sprintf("%s[%d].config", sec.Name, i), Msg: (&catalog.UnknownNamedValueError{Names: unknown}).Error()}
			}
		}
	}
	return nil
}

// eachPolicyEntry calls f with every entry of every stored policy
// document, in scope order, until f returns an error.
func eachPolicyEntry(ctx context.Context, tx *sql.Tx, f func(d *catalog.PolicyDoc, section string, i int, e catalog.PolicyEntry) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT scope, scope_id, doc FROM policies ORDER BY scope, scope_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanPolicy(rows)
		if err != nil {
			return err
		}
		for _, sec := range d.Sections() {
			for i, e := range sec.Entries {
				if err := f(&d, sec.Name, i, e); err != nil {
					return err
				}
			}
		}
	}
	return rows.Err()
}
