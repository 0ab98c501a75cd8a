package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Edge certificates (catalog/certificates.go). The private key is sealed
// with the master key before it reaches SQL and is opened only by
// CertificateKeyPairs.

const certColumns = `id, chain_pem, subject, issuer, key_type, chain_len, not_before, not_after, fingerprint, created_at, updated_at`

// CreateCertificate validates and stores a new certificate and key.
func (s *Store) CreateCertificate(ctx context.Context, u catalog.CertificateUpload) (catalog.Certificate, error) {
	id := u.ID
	if id == "" {
		id = newID()
	} else if err := catalog.ValidateID("id", id); err != nil {
		return catalog.Certificate{}, err
	}
	return s.putCertificate(ctx, id, u, false)
}

// ReplaceCertificate puts a new chain and key (a renewal) under id.
func (s *Store) ReplaceCertificate(ctx context.Context, id string, u catalog.CertificateUpload) (catalog.Certificate, error) {
	return s.putCertificate(ctx, id, u, true)
}

func (s *Store) putCertificate(ctx context.Context, id string, u catalog.CertificateUpload, replace bool) (catalog.Certificate, error) {
	now := s.now()
	p, err := catalog.ParseCertificateUpload([]byte(u.Certificate), []byte(u.Key), now)
	if err != nil {
		return catalog.Certificate{}, err
	}
	sealed, err := s.sealer.Seal(p.KeyPEM, catalog.CertificateKeyAD(id))
	if err != nil {
		return catalog.Certificate{}, err
	}
	c := p.Certificate
	c.ID = id
	action := "create"
	if replace {
		action = "update"
	}
	detail := fmt.Sprintf("hostnames=%s fingerprint=%s not_after=%s", strings.Join(c.Hostnames, ","), c.Fingerprint, c.NotAfter.Format(time.RFC3339))
	err = s.write(ctx, audit{action, "certificate", id, detail}, func(tx *sql.Tx) error {
		if replace {
			var created int64
			if err := tx.QueryRowContext(ctx, `SELECT created_at FROM certificates WHERE id = ?`, id).Scan(&created); err != nil {
				return notFound(err, "certificate", id)
			}
			c.CreatedAt = time.Unix(0, created).UTC()
		} else {
			c.CreatedAt = now.UTC()
		}
		c.UpdatedAt = now.UTC()
		for _, h := range c.Hostnames {
			var other string
			err := tx.QueryRowContext(ctx, `SELECT certificate_id FROM certificate_hostnames WHERE hostname = ? AND certificate_id != ?`, h, id).Scan(&other)
			if err == nil {
				return catalog.Conflictf("hostname %q is already served by certificate %q: replace that certificate (PUT) or delete it first", h, other)
			}
			if err != sql.ErrNoRows {
				return err
			}
		}
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM certificate_hostnames WHERE certificate_id = ?`, id); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE certificates SET chain_pem = ?, key_sealed = ?, subject = ?, issuer = ?, key_type = ?, chain_len = ?,
				not_before = ?, not_after = ?, fingerprint = ?, updated_at = ? WHERE id = ?`,
				c.CertificatePEM, sealed, c.Subject, c.Issuer, c.KeyType, c.ChainLength, c.NotBefore.UnixNano(), c.NotAfter.UnixNano(), c.Fingerprint, c.UpdatedAt.UnixNano(), id)
			if err != nil {
				return err
			}
		} else {
			_, err := tx.ExecContext(ctx, `INSERT INTO certificates (id, chain_pem, key_sealed, subject, issuer, key_type, chain_len, not_before, not_after, fingerprint, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, c.CertificatePEM, sealed, c.Subject, c.Issuer, c.KeyType, c.ChainLength, c.NotBefore.UnixNano(), c.NotAfter.UnixNano(), c.Fingerprint, c.CreatedAt.UnixNano(), c.UpdatedAt.UnixNano())
			if err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return catalog.Conflictf("certificate %q already exists", id)
				}
				return err
			}
		}
		for _, h := range c.Hostnames {
			if _, err := tx.ExecContext(ctx, `INSERT INTO certificate_hostnames (hostname, certificate_id) VALUES (?, ?)`, h, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return catalog.Certificate{}, err
	}
	return c, nil
}

func scanCertificate(row scanner, sealed *[]byte) (catalog.Certificate, error) {
	var c catalog.Certificate
	var nb, na, ca, ua int64
	dest := []any{&c.ID, &c.CertificatePEM, &c.Subject, &c.Issuer, &c.KeyType, &c.ChainLength, &nb, &na, &c.Fingerprint, &ca, &ua}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := row.Scan(dest...); err != nil {
		return catalog.Certificate{}, err
	}
	c.NotBefore, c.NotAfter = time.Unix(0, nb).UTC(), time.Unix(0, na).UTC()
	c.CreatedAt, c.UpdatedAt = time.Unix(0, ca).UTC(), time.Unix(0, ua).UTC()
	return c, nil
}

// certHostnames returns the hostnames of every certificate, or of the
// certificates ids names, sorted.
func (s *Store) certHostnames(ctx context.Context, ids ...string) (map[string][]string, error) {
	q, args := `SELECT certificate_id, hostname FROM certificate_hostnames`, []any{}
	if len(ids) > 0 {
		q += ` WHERE certificate_id IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY certificate_id, hostname`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, mapErr(err)
		}
		out[id] = append(out[id], h)
	}
	return out, mapErr(rows.Err())
}

// GetCertificate returns one certificate's details and chain.
func (s *Store) GetCertificate(ctx context.Context, id string) (catalog.Certificate, error) {
	c, err := scanCertificate(s.r.QueryRowContext(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = ?`, id), nil)
	if err != nil {
		return catalog.Certificate{}, notFound(err, "certificate", id)
	}
	hs, err := s.certHostnames(ctx, id) // not every certificate's: an export reads each one
	if err != nil {
		return catalog.Certificate{}, err
	}
	c.Hostnames = hs[id]
	return c, nil
}

func (s *Store) listCertificates(ctx context.Context, withKeys bool) ([]catalog.CertificateKeyPair, error) {
	q := `SELECT ` + certColumns
	if withKeys {
		q += `, key_sealed`
	}
	rows, err := s.r.QueryContext(ctx, q+` FROM certificates ORDER BY created_at, id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.CertificateKeyPair
	for rows.Next() {
		var sealed []byte
		var sp *[]byte
		if withKeys {
			sp = &sealed
		}
		c, err := scanCertificate(rows, sp)
		if err != nil {
			return nil, mapErr(err)
		}
		p := catalog.CertificateKeyPair{Certificate: c}
		if withKeys {
			if p.KeyPEM, err = s.sealer.Open(sealed, catalog.CertificateKeyAD(c.ID)); err != nil {
				return nil, fmt.Errorf("certificate %q: %w", c.ID, err)
			}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	hs, err := s.certHostnames(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Hostnames = hs[out[i].ID]
	}
	return out, nil
}

// ListCertificates returns every certificate's details (without the chain
// PEM), oldest first.
func (s *Store) ListCertificates(ctx context.Context) ([]catalog.Certificate, error) {
	ps, err := s.listCertificates(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Certificate, len(ps))
	for i, p := range ps {
		out[i] = p.Certificate
		out[i].CertificatePEM = ""
	}
	return out, nil
}

// CertificateKeyPairs returns every certificate with its chain and its key
// in clear, oldest first, for the TLS listener.
func (s *Store) CertificateKeyPairs(ctx context.Context) ([]catalog.CertificateKeyPair, error) {
	return s.listCertificates(ctx, true)
}

// DeleteCertificate deletes a certificate and its key.
func (s *Store) DeleteCertificate(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "certificate", id, ""}, "certificate", id, `DELETE FROM certificates WHERE id = ?`, id)
}
