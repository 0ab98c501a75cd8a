package adminapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

// Edge TLS certificates (docs/tls.md "Certificates in the catalog"). The
// private key goes in once (POST, PUT) and never comes out: no answer
// carries it.

// ExpiryWarning is how close to its expiry a certificate gets a warning
// (in answers, the admin UI and the gateway's log).
const ExpiryWarning = 14 * 24 * time.Hour

func (s *server) certificateRoutes(r routes) {
	r.Handle("/certificates", s.h(s.listCertificates)).Methods(http.MethodGet)
	r.Handle("/certificates", s.h(s.createCertificate)).Methods(http.MethodPost)
	r.Handle("/certificates/{id}", s.h(s.getCertificate)).Methods(http.MethodGet)
	r.Handle("/certificates/{id}", s.h(s.replaceCertificate)).Methods(http.MethodPut)
	r.Handle("/certificates/{id}", s.h(s.deleteCertificate)).Methods(http.MethodDelete)
}

// certView is a certificate as answered: its details, the days left and
// warnings (expiring soon).
type certView struct {
	catalog.Certificate
	DaysLeft int      `json:"daysLeft"`
	Warnings []string `json:"warnings,omitempty"`
}

func viewCert(c catalog.Certificate, now time.Time) certView {
	v := certView{Certificate: c, DaysLeft: c.DaysLeft(now)}
	switch left := c.NotAfter.Sub(now); {
	case left < 0:
		v.Warnings = append(v.Warnings, "expired on "+c.NotAfter.Format(time.RFC3339)+"; clients refuse it: replace it")
	case left < ExpiryWarning:
		v.Warnings = append(v.Warnings, fmt.Sprintf("expires in %d days (%s): replace it", v.DaysLeft, c.NotAfter.Format(time.RFC3339)))
	}
	return v
}

func (s *server) listCertificates(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindCertificates, "")
	if err != nil {
		return err
	}
	cs, err := s.st.ListCertificates(r.Context())
	if err != nil {
		return err
	}
	now := time.Now()
	if pq.paged {
		// ListCertificates orders by created_at, then id.
		p := catalog.PageSlice(cs, func(c catalog.Certificate) catalog.PageKey {
			return catalog.PageKey{N: c.CreatedAt.UnixNano(), T: c.ID}
		}, false, pq.req)
		views := make([]certView, len(p.Items))
		for i, c := range p.Items {
			views[i] = viewCert(c, now)
		}
		writePage(w, s, pq, catalog.Page[certView]{Items: views, More: p.More, Next: p.Next})
		return nil
	}
	out := make([]certView, len(cs))
	for i, c := range cs {
		out[i] = viewCert(c, now)
	}
	writeJSON(w, http.StatusOK, list(out))
	return nil
}

func (s *server) getCertificate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.st.GetCertificate(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCert(c, time.Now()))
	return nil
}

func (s *server) createCertificate(w http.ResponseWriter, r *http.Request) error {
	var u catalog.CertificateUpload
	if err := decode(w, r, catalog.MaxCertificateBody, &u); err != nil {
		return err
	}
	c, err := s.st.CreateCertificate(writeCtx(r), u)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/certificates/"+c.ID)
	writeJSON(w, http.StatusCreated, viewCert(c, time.Now()))
	return nil
}

func (s *server) replaceCertificate(w http.ResponseWriter, r *http.Request) error {
	var u catalog.CertificateUpload
	if err := decode(w, r, catalog.MaxCertificateBody, &u); err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if err := pathID("id", &u.ID, id); err != nil {
		return err
	}
	c, err := s.st.ReplaceCertificate(writeCtx(r), id, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCert(c, time.Now()))
	return nil
}

func (s *server) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteCertificate(writeCtx(r), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
