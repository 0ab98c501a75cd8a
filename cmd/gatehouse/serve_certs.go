package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/edge"
)

// Certificates from the catalog at the edge (docs/tls.md "Certificates in
// the catalog"): the TLS listener serves the --tls-cert files and the
// catalog's certificates; a certificate write reloads the set without a
// restart.

// certStore is what the edge reads of the catalog.
type certStore interface {
	Version(ctx context.Context) (int64, error)
	ChangedEntities(ctx context.Context, since, upto int64) ([]string, bool, error)
	CertificateKeyPairs(ctx context.Context) ([]catalog.CertificateKeyPair, error)
}

// catalogCerts returns the loader's catalog hook: every certificate of
// the catalog, parsed for serving, oldest first.
func catalogCerts(st certStore) func(context.Context) ([]*edge.Cert, error) {
	return func(ctx context.Context) ([]*edge.Cert, error) {
		ps, err := st.CertificateKeyPairs(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]*edge.Cert, 0, len(ps))
		for _, p := range ps {
			c, err := edge.ParseKeyPair("catalog "+p.ID, []byte(p.CertificatePEM), p.KeyPEM)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
}

// certPollInterval is how often the catalog version is read for
// certificate changes.
const certPollInterval = time.Second

// watchCatalogCerts asks for a reload whenever a write of the catalog
// touched a certificate (or the audit log cannot say what changed), and
// logs the certificates expiring within edge.ExpiryWarning twice a day,
// until ctx ends.
func watchCatalogCerts(ctx context.Context, st certStore, t *edgeTLS, log *slog.Logger) {
	seen, err := st.Version(ctx)
	if err != nil {
		log.Warn("tls: reading the catalog version", "err", err)
	}
	tick := time.NewTicker(certPollInterval)
	defer tick.Stop()
	expiry := time.NewTicker(12 * time.Hour)
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			edge.WarnExpiring(log, t.certs.List(), time.Now(), edge.ExpiryWarning)
			continue
		case <-tick.C:
		}
		v, err := st.Version(ctx)
		if err != nil || v == seen {
			continue
		}
		changed, complete, err := st.ChangedEntities(ctx, seen, v)
		seen = v
		if err != nil || !complete || slices.Contains(changed, "certificate") {
			t.reload()
		}
	}
}

// certMetrics exports gatehouse_tls_certificate_expiry_seconds: the
// seconds left (negative once expired) of each served hostname's
// certificate, labelled with its source (file, catalog) and hostname. One
// series per hostname served: a hostname named by several certificates
// counts once, for the one that serves it.
type certMetrics struct{ certs *edge.Certs }

var descCertExpiry = prometheus.NewDesc("gatehouse_tls_certificate_expiry_seconds",
	"Seconds until the served TLS certificate of a hostname expires (negative once expired).", []string{"source", "hostname"}, nil)

func (m certMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- descCertExpiry }

func (m certMetrics) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	seen := map[string]bool{}
	for _, c := range m.certs.List() {
		names := c.Leaf.DNSNames
		if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
			names = []string{c.Leaf.Subject.CommonName}
		}
		for _, n := range names {
			n = normHost(n)
			if seen[n] || m.certs.Pick(n) != c {
				continue
			}
			seen[n] = true
			ch <- prometheus.MustNewConstMetric(descCertExpiry, prometheus.GaugeValue, c.Leaf.NotAfter.Sub(now).Seconds(), c.Source(), n)
		}
	}
}

func normHost(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }
