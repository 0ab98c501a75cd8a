package declarative

import (
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/catalog"
)

// clientKeys checks, before anything is written, that every API's
// backendTls.clientKeyNamedValue names a secret named value that exists
// after the apply (in the document or the catalog, and not pruned) and
// holds the key of the API's clientCertPem — the checks the store makes
// at the API's write, made early so that a bad document writes nothing.
func (p *planner) clientKeys() error {
	stored, err := p.st.ListNamedValues(p.ctx)
	if err != nil {
		return err
	}
	after := map[string]catalog.NamedValue{}
	if p.d.NamedValues == nil || !p.prune {
		for _, n := range stored {
			after[n.Name] = n
		}
	}
	for _, n := range p.d.NamedValues {
		nv := catalog.NamedValue{Name: n.Name, Secret: n.Secret, Value: after[n.Name].Value}
		for _, s := range stored {
			if s.Name == n.Name {
				nv.Value = s.Value
			}
		}
		if n.Value != nil {
			nv.Value = *n.Value
		}
		after[n.Name] = nv
	}
	for i, a := range p.d.APIs {
		b := a.BackendTLS
		if b == nil || b.ClientKeyNamedValue == "" {
			continue
		}
		path := fmt.Sprintf("apis[%d].backendTls.clientKeyNamedValue", i)
		n, ok := after[b.ClientKeyNamedValue]
		switch {
		case !ok:
			return invalid(path, "%s", (&catalog.UnknownNamedValueError{Names: []string{b.ClientKeyNamedValue}}).Error())
		case !n.Secret:
			return invalid(path, "named value %q is not secret: a private key is kept only in a secret named value", n.Name)
		}
		if err := catalog.CheckClientKey(b.ClientCertPEM, n.Value); err != nil {
			var fe *catalog.FieldError
			if errors.As(err, &fe) {
				return invalid(path, "%s", fe.Msg)
			}
			return err
		}
	}
	return nil
}
