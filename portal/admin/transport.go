package admin

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// transportRow is one line of the API page's read-only transport table.
type transportRow struct{ Name, Value string }

// transportRows describes an API's transport settings (docs/tls.md
// "Catalog APIs") for the API page: certificates by subject, never PEM;
// the client key by the name of its secret named value. Editing is through
// the admin API or apply.
func transportRows(a catalog.API) []transportRow {
	t := a.APITransport
	if t.IsZero() {
		return nil
	}
	var rows []transportRow
	add := func(n, f string, args ...any) { rows = append(rows, transportRow{n, fmt.Sprintf(f, args...)}) }
	if t.BackendProtocol != "" {
		add("backend protocol", "%s", t.BackendProtocol)
	}
	if b := t.BackendTLS; b != nil {
		if b.CAPEM != "" {
			add("backend CA bundle", "%s", certSubjects(b.CAPEM))
		}
		if b.ClientCertPEM != "" {
			add("client certificate (mTLS)", "%s — key in secret named value %q", certSubjects(b.ClientCertPEM), b.ClientKeyNamedValue)
		}
		if b.ServerName != "" {
			add("backend SNI name", "%s", b.ServerName)
		}
		if b.MinVersion != "" {
			add("backend minimum TLS", "%s", b.MinVersion)
		}
	}
	if c := t.ClientCertificate; c != nil {
		var parts []string
		if c.CAPEM != "" {
			parts = append(parts, "CA "+certSubjects(c.CAPEM))
		}
		if n := len(c.Thumbprints); n > 0 {
			parts = append(parts, fmt.Sprintf("%d thumbprint(s)", n))
		}
		add("callers' client certificate", "required: %s", strings.Join(parts, "; "))
	}
	if w := t.WebSocket; w != nil {
		idle, maxDur := w.IdleTimeout, w.MaxDuration
		if idle == "" {
			idle = "2m (default)"
		}
		if maxDur == "" {
			maxDur = "1h (default)"
		}
		add("WebSocket limits", "idle %s, at most %s", idle, maxDur)
	}
	return rows
}

func certSubjects(pemText string) string {
	certs, err := catalog.ParseCertificatesPEM(pemText)
	if err != nil {
		return "(unreadable)"
	}
	names := make([]string, 0, len(certs))
	for _, c := range certs {
		names = append(names, c.Subject.String())
	}
	return strings.Join(names, ", ")
}
