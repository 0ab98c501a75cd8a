package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// Editing an API's transport settings on its page (docs/tls.md "Catalog
// APIs"): one form, posted to the admin API's PUT /apis/{id} with the
// stored API and the form's settings, so the admin API validates (and
// audits) it as any other change. Certificates are uploaded as PEM files
// and shown by subject, never as PEM; an empty file input keeps the
// stored bundle, a "remove" box clears it. The client key is never on the
// page: the form names the secret named value that holds it.

// transportForm is what the form shows: the current settings.
type transportForm struct {
	Protocol, MinVersion, ServerName, ClientKey string
	CA, ClientCert, CallerCA                    string // subjects of the stored bundles ("" when none)
	Thumbprints                                 string // one per line
	WSIdle, WSMax                               string
	SecretNames                                 []string
}

func (s *Server) transportForm(r *http.Request, a catalog.API) (transportForm, error) {
	t := a.APITransport
	f := transportForm{Protocol: t.BackendProtocol}
	if b := t.BackendTLS; b != nil {
		f.MinVersion, f.ServerName, f.ClientKey = b.MinVersion, b.ServerName, b.ClientKeyNamedValue
		if b.CAPEM != "" {
			f.CA = certSubjects(b.CAPEM)
		}
		if b.ClientCertPEM != "" {
			f.ClientCert = certSubjects(b.ClientCertPEM)
		}
	}
	if c := t.ClientCertificate; c != nil {
		if c.CAPEM != "" {
			f.CallerCA = certSubjects(c.CAPEM)
		}
		f.Thumbprints = strings.Join(c.Thumbprints, "\n")
	}
	if w := t.WebSocket; w != nil {
		f.WSIdle, f.WSMax = w.IdleTimeout, w.MaxDuration
	}
	nvs, err := s.st.ListNamedValues(r.Context())
	if err != nil {
		return f, err
	}
	for _, nv := range nvs {
		if nv.Secret {
			f.SecretNames = append(f.SecretNames, nv.Name)
		}
	}
	return f, nil
}

// errFormInput is a mistake in the form itself (not the admin API's).
type errFormInput struct{ msg string }

func (e errFormInput) Error() string { return e.msg }

// pemInput is the new value of a PEM field: the uploaded file, "" when
// its remove box is ticked, or old when neither.
func pemInput(r *http.Request, name, what, old string) (string, error) {
	remove := checked(r, name+"Remove")
	f, _, err := r.FormFile(name)
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		if remove {
			return "", nil
		}
		return old, nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, catalog.MaxTransportPEM+1))
	if err != nil {
		return "", err
	}
	switch {
	case remove:
		return "", errFormInput{fmt.Sprintf("%s: choose a file or tick remove, not both", what)}
	case len(b) > catalog.MaxTransportPEM:
		return "", errFormInput{fmt.Sprintf("%s: the file is larger than %d KiB", what, catalog.MaxTransportPEM>>10)}
	case len(b) == 0:
		return old, nil // an empty file chosen by mistake keeps the stored bundle
	}
	return string(b), nil
}

// transportFromForm is the API's transport settings as the form sets
// them over the stored ones.
func transportFromForm(r *http.Request, old catalog.APITransport) (catalog.APITransport, error) {
	t := catalog.APITransport{BackendProtocol: form(r, "backendProtocol")}
	var b catalog.BackendTLS
	if old.BackendTLS != nil {
		b = *old.BackendTLS
	}
	var err error
	if b.CAPEM, err = pemInput(r, "backendCa", "Backend CA bundle", b.CAPEM); err != nil {
		return t, err
	}
	if b.ClientCertPEM, err = pemInput(r, "clientCert", "Client certificate", b.ClientCertPEM); err != nil {
		return t, err
	}
	b.ClientKeyNamedValue, b.ServerName, b.MinVersion = form(r, "clientKeyNamedValue"), form(r, "serverName"), form(r, "minVersion")
	if b != (catalog.BackendTLS{}) {
		t.BackendTLS = &b
	}
	var c catalog.ClientCertificate
	if old.ClientCertificate != nil {
		c.CAPEM = old.ClientCertificate.CAPEM
	}
	if c.CAPEM, err = pemInput(r, "callerCa", "Callers' CA bundle", c.CAPEM); err != nil {
		return t, err
	}
	c.Thumbprints = strings.Fields(strings.ReplaceAll(r.PostFormValue("thumbprints"), ",", " "))
	if c.CAPEM != "" || len(c.Thumbprints) > 0 {
		t.ClientCertificate = &c
	}
	if w := (catalog.WebSocketLimits{IdleTimeout: form(r, "wsIdle"), MaxDuration: form(r, "wsMax")}); w != (catalog.WebSocketLimits{}) {
		t.WebSocket = &w
	}
	return t, nil
}

// updateTransport saves the transport form through the admin API.
func (s *Server) updateTransport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var a catalog.API
	if err := s.callJSON(r, http.MethodGet, "/apis/"+id, nil, &a); err != nil {
		return err
	}
	show := func(msg string) error {
		return s.renderAPI(w, r, id, http.StatusBadRequest, map[string]any{"Error": "Transport settings not saved: " + msg, "TransportOpen": true})
	}
	t, err := transportFromForm(r, a.APITransport)
	var fe errFormInput
	if errors.As(err, &fe) {
		return show(fe.msg)
	}
	if err != nil {
		return err
	}
	a.APITransport = t
	a.OpenAPIDoc = nil
	if err := s.callJSON(r, http.MethodPut, "/apis/"+id, a, nil); err != nil {
		return s.retry(err, show)
	}
	redirect(w, r, Prefix+"/apis/"+id, "saved")
	return nil
}
