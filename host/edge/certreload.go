package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// CertFile is one --tls-cert/--tls-key pair.
type CertFile struct {
	Cert, Key string
}

// CertLoader builds the edge's certificate set from files and, optionally,
// the catalog, and rebuilds it on request (SIGHUP, a catalog change) or
// when a file's modification time or size changes. A reload that fails
// keeps the certificates being served and logs why: a half-written
// renewal never takes the listener down.
type CertLoader struct {
	Files []CertFile
	// Catalog, if set, returns the catalog's certificates (after the
	// files: the first file stays the default).
	Catalog func(ctx context.Context) ([]*Cert, error)
	Certs   *Certs
	Logger  *slog.Logger
	// Now is the clock for expiry warnings (time.Now).
	Now func() time.Time
	// AllowEmpty makes a load that finds no certificate at all (no
	// files, none in the catalog) succeed with an empty set: handshakes
	// are then refused, each with a log line, until one arrives. Without
	// it such a load fails and the previous set stays.
	AllowEmpty bool

	mu    sync.Mutex
	stamp string // file modification times and sizes at the last load
}

// Load reads every source and swaps the set in. On error nothing changes.
func (l *CertLoader) Load(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loadLocked(ctx)
}

func (l *CertLoader) loadLocked(ctx context.Context) error {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	// Remembered also on failure: a file that stays broken is retried
	// when it changes again (or on a kick), not logged every tick.
	l.stamp = l.fileStamp()
	var certs []*Cert
	var errs []error
	for _, f := range l.Files {
		c, err := LoadCertFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		certs = append(certs, c)
	}
	if l.Catalog != nil {
		cc, err := l.Catalog(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("catalog certificates: %w", err))
		}
		certs = append(certs, cc...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(certs) == 0 && l.AllowEmpty {
		if len(l.Certs.List()) > 0 {
			log.Warn("tls: no certificate left; HTTPS handshakes are refused until one is added")
		}
		l.Certs.Clear()
		return nil
	}
	WarnExpiring(log, certs, now(), ExpiryWarning)
	for _, c := range certs {
		if c.Expired(now()) {
			// Served anyway (docs/tls.md "Expired certificates"): clients
			// refuse it, but the other names keep working.
			log.Warn("tls: serving a certificate outside its validity period; clients will refuse it", "cert", c.Name,
				"subject", c.Leaf.Subject.String(), "not_before", c.Leaf.NotBefore, "not_after", c.Leaf.NotAfter)
		}
	}
	return l.Certs.Set(certs)
}

// ExpiryWarning is how long before its expiry a served certificate is
// logged as expiring soon.
const ExpiryWarning = 14 * 24 * time.Hour

// WarnExpiring logs a warning for every certificate of certs that is
// still valid at now but expires within the given time.
func WarnExpiring(log *slog.Logger, certs []*Cert, now time.Time, within time.Duration) {
	for _, c := range certs {
		if left := c.Leaf.NotAfter.Sub(now); left >= 0 && left < within {
			log.Warn("tls: certificate expires soon; renew it", "cert", c.Name, "subject", c.Leaf.Subject.String(),
				"not_after", c.Leaf.NotAfter, "days_left", int(left.Hours()/24))
		}
	}
}

// Source is where a certificate came from: "file" or "catalog" (the first
// word of its Name).
func (c *Cert) Source() string {
	src, _, _ := strings.Cut(c.Name, " ")
	return src
}

// LoadCertFile reads and parses one certificate and key file pair.
func LoadCertFile(f CertFile) (*Cert, error) {
	cb, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	kb, err := os.ReadFile(f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	return ParseKeyPair("file "+f.Cert, cb, kb)
}

func (l *CertLoader) fileStamp() string {
	s := ""
	for _, f := range l.Files {
		for _, p := range []string{f.Cert, f.Key} {
			if fi, err := os.Stat(p); err == nil {
				s += fmt.Sprintf("%s %d %d;", p, fi.ModTime().UnixNano(), fi.Size())
			} else {
				s += p + " missing;"
			}
		}
	}
	return s
}

// Changed reports whether a certificate or key file changed since the last
// load.
func (l *CertLoader) Changed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fileStamp() != l.stamp
}

// Watch reloads when a file changes (checked every interval) and whenever
// kick receives (SIGHUP, a catalog change), until ctx ends. Failures are
// logged; the served set stays.
func (l *CertLoader) Watch(ctx context.Context, interval time.Duration, kick <-chan struct{}) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if len(l.Files) == 0 || !l.Changed() {
				continue
			}
		case <-kick:
		}
		if err := l.Load(ctx); err != nil {
			log.Error("tls: reload failed; still serving the previous certificates", "err", err)
			continue
		}
		log.Info("tls: certificates reloaded", "count", len(l.Certs.List()))
	}
}
