package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSecretAndCookies(t *testing.T) {
	s, err := Secret(nil, "p")
	if err != nil || len(s) != 32 {
		t.Fatalf("Secret(nil) = %d bytes, %v", len(s), err)
	}
	if _, err := Secret(make([]byte, 31), "the portal"); err == nil || !strings.Contains(err.Error(), "the portal: Secret must be at least 32 bytes, not 31") {
		t.Fatalf("short secret: %v", err)
	}
	w := httptest.NewRecorder()
	SetCookie(w, "s", "v", time.Hour, http.SameSiteStrictMode, true)
	ClearCookie(w, "s", http.SameSiteStrictMode, false)
	got := w.Result().Cookies()
	if len(got) != 2 {
		t.Fatalf("cookies %v", got)
	}
	if c := got[0]; !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 || c.Path != "/" {
		t.Fatalf("set: %+v", c)
	}
	if c := got[1]; c.MaxAge != -1 || c.Value != "" || !c.HttpOnly || c.Secure {
		t.Fatalf("clear: %+v", c)
	}
}
