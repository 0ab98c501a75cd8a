package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/portal/web"
)

// Every change the portal makes is a request to the admin API handler,
// made in-process as the signed-in admin: the request carries the
// admin's session cookie and its CSRF header, exactly as the portal's
// scripts would send them, so the API authenticates, authorises, validates
// and audits it as any other call (RATIONALE.md, "Admin portal").

// apiError is a refusal of the admin API: its status and message, shown
// on the page (a 400's message names the field).
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Fields []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"fields"`
}

func (e *apiError) Error() string {
	msg := e.Msg
	for _, f := range e.Fields {
		if !strings.Contains(msg, f.Message) {
			msg += "; " + f.Path + ": " + f.Message
		}
	}
	return msg
}

// recorder collects the admin API's answer.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (rc *recorder) Header() http.Header { return rc.h }
func (rc *recorder) WriteHeader(code int) {
	if rc.status == 0 {
		rc.status = code
	}
}
func (rc *recorder) Write(b []byte) (int, error) {
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	return rc.body.Write(b)
}

// call sends method path (under /admin/v1) with body to the admin API as
// r's signed-in admin and decodes a JSON answer into out (when not nil).
// A 4xx/5xx answer is an *apiError.
func (s *Server) call(r *http.Request, method, path, contentType string, body io.Reader, out any) error {
	v := viewerFrom(r)
	if v == nil {
		return &statusError{http.StatusUnauthorized, "sign in first"}
	}
	if s.api == nil {
		return &statusError{http.StatusServiceUnavailable, "the admin API is not wired to this portal"}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, "/admin/v1"+path, body)
	if err != nil {
		return err
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: v.token})
	req.Header.Set(web.Header, v.csrf)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rc := &recorder{h: http.Header{}}
	s.api.ServeHTTP(rc, req)
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	if rc.status >= 400 {
		e := &apiError{Status: rc.status}
		var env struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(rc.body.Bytes(), &env) == nil && env.Error.Msg != "" {
			env.Error.Status = rc.status
			e = &env.Error
		} else {
			e.Msg = fmt.Sprintf("the admin API answered %d", rc.status)
		}
		return e
	}
	if out != nil && rc.body.Len() > 0 {
		if err := json.Unmarshal(rc.body.Bytes(), out); err != nil {
			return fmt.Errorf("admin portal: decoding the admin API's answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// callJSON is call with a JSON body.
func (s *Server) callJSON(r *http.Request, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return s.call(r, method, path, "application/json", body, out)
}
