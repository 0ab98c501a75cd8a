package declarative

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Certificate is an edge TLS certificate (docs/tls.md "Certificates in the
// catalog") in a document: its chain and, on input only, its private key.
//
// Export writes the chain (public PEM) with its hostnames, expiry and
// fingerprint, never the key. Apply creates a certificate from a document
// that carries the key (Key, PEM; `gatehouse apply` also reads KeyFile, a
// path relative to the document, and sends its contents as Key); it keeps
// the stored key when the document omits it and the certificate's public
// key still matches that key. Hostnames, NotAfter and Fingerprint are
// derived from the chain: optional in a document, and checked against the
// chain when given.
type Certificate struct {
	ID          string     `yaml:"id" json:"id"`
	Hostnames   []string   `yaml:"hostnames,omitempty" json:"hostnames,omitempty"`
	NotAfter    *time.Time `yaml:"notAfter,omitempty" json:"notAfter,omitempty"`
	Fingerprint string     `yaml:"fingerprint,omitempty" json:"fingerprint,omitempty"`
	Certificate string     `yaml:"certificate" json:"certificate"`
	Key         string     `yaml:"key,omitempty" json:"key,omitempty"`
	KeyFile     string     `yaml:"keyFile,omitempty" json:"keyFile,omitempty"`
}

// validate checks the certificate on its own (chain, derived fields, the
// key's shape and match); path is "certificates[i]".
func (c *Certificate) validate(path string) error {
	if err := catalog.ValidateID(path+".id", c.ID); err != nil {
		return err
	}
	if c.KeyFile != "" {
		if c.Key != "" {
			return invalid(path+".keyFile", "give the key in key or in keyFile, not both")
		}
		return invalid(path+".keyFile", "is read by `gatehouse apply` from next to the document, which sends its contents as key; give the key itself in key")
	}
	info, err := catalog.ParseCertificateChain([]byte(c.Certificate))
	if err != nil {
		return atPath(path, err)
	}
	if c.Hostnames != nil && !slices.Equal(normHosts(c.Hostnames), info.Hostnames) {
		return invalid(path+".hostnames", "are [%s], but the certificate names [%s]: correct the list or leave it out", strings.Join(c.Hostnames, ", "), strings.Join(info.Hostnames, ", "))
	}
	if c.Fingerprint != "" && !strings.EqualFold(c.Fingerprint, info.Fingerprint) {
		return invalid(path+".fingerprint", "is %s, but the certificate's is %s: correct it or leave it out", c.Fingerprint, info.Fingerprint)
	}
	if c.NotAfter != nil && !c.NotAfter.Equal(info.NotAfter) {
		return invalid(path+".notAfter", "is %s, but the certificate expires %s: correct it or leave it out", c.NotAfter.UTC().Format(time.RFC3339), info.NotAfter.Format(time.RFC3339))
	}
	if c.Key != "" {
		if err := catalog.CheckCertificateKey([]byte(c.Certificate), []byte(c.Key)); err != nil {
			return atPath(path, err)
		}
	}
	return nil
}

func normHosts(hs []string) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// atPath prefixes the path of a *catalog.FieldError with path.
func atPath(path string, err error) error {
	var fe *catalog.FieldError
	if errors.As(err, &fe) {
		return invalid(join(path, fe.Path), "%s", fe.Msg)
	}
	return err
}

// exportCertificates describes every certificate, sorted by ID: chain and
// details, no key.
func exportCertificates(ctx context.Context, st catalog.Store) ([]Certificate, error) {
	cs, err := st.ListCertificates(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	out := make([]Certificate, 0, len(cs))
	for _, c := range cs {
		full, err := st.GetCertificate(ctx, c.ID) // the list leaves the chain out
		if err != nil {
			return nil, err
		}
		na := full.NotAfter.UTC()
		out = append(out, Certificate{ID: full.ID, Hostnames: full.Hostnames, NotAfter: &na,
			Fingerprint: full.Fingerprint, Certificate: full.CertificatePEM})
	}
	return out, nil
}

// certificates plans the certificates: created from a document that
// carries the key, replaced when the chain changes (with the document's
// key, or the stored one when the document has none and it still matches),
// left alone when the chain is the same; with prune, deleted when absent.
// Every hostname must end up served by one certificate only.
func (p *planner) certificates() error {
	if p.d.Certificates == nil {
		return nil // not described: not looked at, nothing deleted
	}
	cur, err := p.st.ListCertificates(p.ctx)
	if err != nil {
		return err
	}
	byID := map[string]catalog.Certificate{}
	for _, c := range cur {
		byID[c.ID] = c
	}
	now := time.Now()
	var storedKeys map[string][]byte // read only when a changed chain comes without its key
	var puts []certPut
	owner := map[string]string{} // hostname → "certificates[i]" after the apply
	for i, c := range p.d.Certificates {
		path := fmt.Sprintf("certificates[%d]", i)
		info, err := catalog.ParseCertificateChain([]byte(c.Certificate))
		if err != nil {
			return atPath(path, err)
		}
		for _, h := range info.Hostnames {
			if o, ok := owner[h]; ok {
				return invalid(path+".certificate", "names hostname %q, which %s also names: a hostname is served by one certificate", h, o)
			}
			owner[h] = fmt.Sprintf("%s (certificate %q)", path, c.ID)
		}
		old, exists := byID[c.ID]
		if !exists {
			if c.Key == "" {
				return invalid(path+".key", "must be given to create certificate %q (exports never carry keys: add key, or keyFile for `gatehouse apply`)", c.ID)
			}
			if _, err := catalog.ParseCertificateUpload([]byte(c.Certificate), []byte(c.Key), now); err != nil {
				return atPath(path, err)
			}
			u := catalog.CertificateUpload{ID: c.ID, Certificate: c.Certificate, Key: c.Key}
			puts = append(puts, certPut{path: path, id: c.ID, hosts: info.Hostnames, step: step{Change{"create", "certificate", c.ID, ""}, putCertificate,
				func(ctx context.Context, st catalog.Store) error {
					_, err := st.CreateCertificate(ctx, u)
					return err
				}}})
			continue
		}
		stored, err := p.st.GetCertificate(p.ctx, c.ID)
		if err != nil {
			return err
		}
		if stored.CertificatePEM == info.CertificatePEM {
			continue // same chain; a key given matches it (validate), so it is the stored key
		}
		key, keyNote := c.Key, "replaced"
		if key == "" {
			if storedKeys == nil {
				pairs, err := p.st.CertificateKeyPairs(p.ctx)
				if err != nil {
					return err
				}
				storedKeys = map[string][]byte{}
				for _, kp := range pairs {
					storedKeys[kp.ID] = kp.KeyPEM
				}
			}
			key, keyNote = string(storedKeys[c.ID]), "kept"
			if err := catalog.CheckCertificateKey([]byte(c.Certificate), []byte(key)); err != nil {
				var fe *catalog.FieldError
				if errors.As(err, &fe) && fe.Path == "key" {
					return invalid(path+".key", "must be given: the new certificate's public key does not match the stored key of certificate %q", c.ID)
				}
				return atPath(path, err)
			}
		}
		if _, err := catalog.ParseCertificateUpload([]byte(c.Certificate), []byte(key), now); err != nil {
			return atPath(path, err)
		}
		var df diff
		df.field("hostnames", strings.Join(old.Hostnames, ","), strings.Join(info.Hostnames, ","))
		df.field("notAfter", old.NotAfter.UTC().Format(time.RFC3339), info.NotAfter.Format(time.RFC3339))
		df.field("fingerprint", old.Fingerprint, info.Fingerprint)
		df = append(df, "key: "+keyNote)
		u, id := catalog.CertificateUpload{Certificate: c.Certificate, Key: key}, c.ID
		puts = append(puts, certPut{path: path, id: c.ID, hosts: info.Hostnames, step: step{Change{"update", "certificate", c.ID, df.String()}, putCertificate,
			func(ctx context.Context, st catalog.Store) error {
				_, err := st.ReplaceCertificate(ctx, id, u)
				return err
			}}})
	}
	want := map[string]bool{}
	for _, c := range p.d.Certificates {
		want[c.ID] = true
	}
	for _, c := range cur {
		if want[c.ID] {
			continue
		}
		if p.prune {
			id := c.ID
			p.add("delete", "certificate", id, "", delCertificate, func(ctx context.Context, st catalog.Store) error {
				return st.DeleteCertificate(ctx, id)
			})
			continue
		}
		for _, h := range c.Hostnames { // kept: its hostnames stay taken
			if o, ok := owner[h]; ok {
				return invalid(strings.Fields(o)[0]+".certificate", "names hostname %q, which certificate %q serves: the document does not list it, so it is kept (prune deletes it)", h, c.ID)
			}
		}
	}
	ordered, err := orderCertPuts(puts, cur)
	if err != nil {
		return err
	}
	p.steps = append(p.steps, ordered...)
	return nil
}

// certPut is a planned create or replace of a certificate of the document.
type certPut struct {
	path, id string
	hosts    []string // after the write
	step
}

// orderCertPuts orders the writes so that a certificate taking a hostname
// another certificate of the document gives up is written after that one
// (the store refuses a hostname two certificates hold, even for a moment
// inside the transaction). A cycle (certificates swapping names) has no
// such order and is refused, naming two certificates of it.
func orderCertPuts(puts []certPut, stored []catalog.Certificate) ([]step, error) {
	holder := map[string]string{} // hostname → stored certificate ID
	for _, c := range stored {
		for _, h := range c.Hostnames {
			holder[h] = c.ID
		}
	}
	index := map[string]int{}
	for i, w := range puts {
		index[w.id] = i
	}
	// after[i]: the puts that must run before puts[i].
	after := make([][]int, len(puts))
	for i, w := range puts {
		for _, h := range w.hosts {
			if j, ok := index[holder[h]]; ok && j != i {
				after[i] = append(after[i], j)
			}
		}
	}
	out := make([]step, 0, len(puts))
	state := make([]int, len(puts)) // 0 new, 1 visiting, 2 done
	var visit func(i, from int) error
	visit = func(i, from int) error {
		switch state[i] {
		case 1:
			return invalid(puts[from].path+".certificate", "takes a hostname of %s, which takes one of this certificate's in turn: certificates cannot swap hostnames in one apply; apply in two steps, first without the hostnames that move", puts[i].path)
		case 2:
			return nil
		}
		state[i] = 1
		for _, j := range after[i] {
			if err := visit(j, i); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, puts[i].step)
		return nil
	}
	for i := range puts {
		if err := visit(i, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
