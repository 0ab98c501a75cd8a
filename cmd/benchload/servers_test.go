package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestBackendBody(t *testing.T) {
	if len(backendBody) != 100 {
		t.Fatalf("backend body is %d bytes, want 100", len(backendBody))
	}
	rec := httptest.NewRecorder()
	backendHandler{}.ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	if rec.Code != 200 || rec.Body.String() != backendBody || rec.Header().Get("Content-Length") != "100" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

// The bare proxy forwards to the backend, rebuilds X-Forwarded-For and
// passes the path through; checkTarget accepts it.
func TestBareProxyAndCheck(t *testing.T) {
	backend := httptest.NewServer(backendHandler{})
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	proxy := httptest.NewServer(newBareProxy(u))
	defer proxy.Close()

	req, _ := http.NewRequest("GET", proxy.URL+echoPath, nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9") // spoofed: must not survive
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	echo := string(body)
	if !strings.HasPrefix(echo, "GET "+echoPath+"\n") || !strings.Contains(echo, "X-Forwarded-For: 127.0.0.1\n") ||
		strings.Contains(echo, "203.0.113.9") {
		t.Fatalf("backend saw:\n%s", echo)
	}

	notes, err := checkTarget(context.Background(), &target{Name: nameBare, Policies: -1, URL: proxy.URL + "/"})
	if err != nil || len(notes) == 0 {
		t.Fatalf("checkTarget: %v %v", notes, err)
	}
}

func TestCheckTargetRejectsWrongAnswers(t *testing.T) {
	backend := httptest.NewServer(backendHandler{})
	defer backend.Close()
	// A "gateway" that answers 200 with the backend's body but ran no policy.
	u, _ := url.Parse(backend.URL)
	noPolicies := httptest.NewServer(http.StripPrefix("/bench", newBareProxy(u)))
	defer noPolicies.Close()
	if _, err := checkTarget(context.Background(), &target{Name: nameGW1, Policies: 1, URL: noPolicies.URL + "/bench/"}); err == nil {
		t.Error("accepted a 1-policy gateway whose set-header did not reach the backend")
	}
	// A fast wrong answer must never pass for throughput.
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer unauthorized.Close()
	if _, err := checkTarget(context.Background(), &target{Name: nameGW0, Policies: 0, URL: unauthorized.URL + "/bench/"}); err == nil {
		t.Error("accepted a target answering 401")
	}
}

func TestCopyBuffers(t *testing.T) {
	var p copyBuffers
	b := p.Get()
	if len(b) != copyBufSize {
		t.Fatalf("len %d", len(b))
	}
	p.Put(b)
	p.Put(make([]byte, 10)) // too small: dropped, not a panic
	if allocs := testing.AllocsPerRun(100, func() { p.Put(p.Get()) }); allocs > 0 {
		t.Errorf("Get/Put allocates %v times", allocs)
	}
}
