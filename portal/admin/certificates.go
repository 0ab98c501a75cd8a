package admin

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse/catalog"
)

// The Certificates page: the edge's TLS certificates with their expiry,
// upload and replace (two file inputs: chain and key), delete after typing
// the ID. Everything goes through the admin API, which never answers a
// key; viewers see the list only.

func (s *Server) certificateRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/certificates", s.auth(s.certificates))
	m.HandleFunc("POST "+Prefix+"/certificates", s.auth(s.uploadCertificate))
	m.HandleFunc("POST "+Prefix+"/certificates/{id}", s.auth(s.replaceCertificate))
	m.HandleFunc("POST "+Prefix+"/certificates/{id}/delete", s.auth(s.deleteCertificate))
}

// certRow is one certificate as the admin API answers it.
type certRow struct {
	catalog.Certificate
	DaysLeft int      `json:"daysLeft"`
	Warnings []string `json:"warnings"`
}

// Soon reports an expiry within the warning period (or past).
func (c certRow) Soon() bool { return len(c.Warnings) > 0 }

func (s *Server) certificates(w http.ResponseWriter, r *http.Request) error {
	return s.renderCertificates(w, r, http.StatusOK, "")
}

func (s *Server) renderCertificates(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	var out struct {
		Items []certRow `json:"items"`
	}
	if err := s.callJSON(r, http.MethodGet, "/certificates", nil, &out); err != nil {
		return err
	}
	s.render(w, r, status, "certificates", map[string]any{"Title": "Certificates", "Certs": out.Items, "Error": errMsg})
	return nil
}

// certUpload reads the two file inputs ("cert", "key"); either may
// instead be pasted in the text fields of the same name.
func certUpload(r *http.Request) (catalog.CertificateUpload, error) {
	read := func(name string) (string, error) {
		f, _, err := r.FormFile(name)
		if err != nil {
			return r.PostFormValue(name + "Text"), nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, catalog.MaxCertificateBody+1))
		if err != nil {
			return "", err
		}
		if len(b) > catalog.MaxCertificateBody {
			return "", fmt.Errorf("the %s file is larger than %d KiB", name, catalog.MaxCertificateBody>>10)
		}
		return string(b), nil
	}
	var u catalog.CertificateUpload
	var err error
	if u.Certificate, err = read("cert"); err != nil {
		return u, err
	}
	if u.Key, err = read("key"); err != nil {
		return u, err
	}
	return u, nil
}

func (s *Server) uploadCertificate(w http.ResponseWriter, r *http.Request) error {
	u, err := certUpload(r)
	if err != nil {
		return s.renderCertificates(w, r, http.StatusBadRequest, err.Error())
	}
	u.ID = form(r, "id")
	if err := s.callJSON(r, http.MethodPost, "/certificates", u, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderCertificates(w, r, http.StatusBadRequest, "Upload refused: "+msg)
		})
	}
	redirect(w, r, Prefix+"/certificates", "created")
	return nil
}

func (s *Server) replaceCertificate(w http.ResponseWriter, r *http.Request) error {
	u, err := certUpload(r)
	if err != nil {
		return s.renderCertificates(w, r, http.StatusBadRequest, err.Error())
	}
	if err := s.callJSON(r, http.MethodPut, "/certificates/"+r.PathValue("id"), u, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderCertificates(w, r, http.StatusBadRequest, "Replacement refused: "+msg)
		})
	}
	redirect(w, r, Prefix+"/certificates", "saved")
	return nil
}

func (s *Server) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if form(r, "confirm") != id {
		return s.renderCertificates(w, r, http.StatusBadRequest, "To delete certificate "+id+", type its ID in the confirmation field.")
	}
	if err := s.callJSON(r, http.MethodDelete, "/certificates/"+id, nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderCertificates(w, r, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/certificates", "deleted")
	return nil
}
