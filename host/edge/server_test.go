package edge

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.2.3.4:5678", "1.2.3.4"},
		{"[::1]:80", "::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:DB8:0:0::1]:443", "2001:db8::1"},
		{"[::ffff:1.2.3.4]:80", "1.2.3.4"},
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"127.0.0.1:0", "127.0.0.1"},
		{"1.2.3.4", "1.2.3.4"},
		{"::1", "::1"},
		{"", ""},
		{"@", ""},
		{"localhost:80", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:99999", ""},
		{"[::1]", ""},
		{"::1:80", "::1:80"}, // a valid bare IPv6 address, not host:port
		{"1.2.3.4:80:90", ""},
		{"01.2.3.4:80", ""},
		{"[1.2.3.4]:80", ""},
		{" 1.2.3.4:80", ""},
	} {
		if got := ClientIP(tc.in); got != tc.want {
			t.Errorf("ClientIP(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestClientIPFromRealRequest(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- ClientIP(r.RemoteAddr)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ip := <-got; ip != "127.0.0.1" {
		t.Fatalf("ClientIP(RemoteAddr) = %q; want 127.0.0.1", ip)
	}
}

func TestDefaultServerOptions(t *testing.T) {
	want := ServerOptions{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       0,
		WriteTimeout:      0,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if got := DefaultServerOptions(); got != want {
		t.Fatalf("DefaultServerOptions() = %+v; want %+v", got, want)
	}
}

func TestNewServer(t *testing.T) {
	h := http.NotFoundHandler()
	logger := log.New(io.Discard, "", 0)
	for _, tc := range []struct {
		name string
		in   ServerOptions
		want ServerOptions
	}{
		{"zero takes defaults", ServerOptions{}, DefaultServerOptions()},
		{
			"explicit values kept",
			ServerOptions{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 1234},
			ServerOptions{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 1234},
		},
		{
			"partial",
			ServerOptions{ReadTimeout: time.Minute, MaxHeaderBytes: 8 << 10},
			ServerOptions{10 * time.Second, time.Minute, 0, 120 * time.Second, 8 << 10},
		},
		{
			"negative disables durations, not the header cap",
			ServerOptions{-1, -1, -1, -1, -1},
			ServerOptions{-1, -1, -1, -1, 64 << 10},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(":8443", h, tc.in, logger)
			got := ServerOptions{s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes}
			if got != tc.want {
				t.Errorf("server limits %+v; want %+v", got, tc.want)
			}
			if s.Addr != ":8443" || s.Handler == nil || s.ErrorLog != logger {
				t.Errorf("Addr %q, Handler %v, ErrorLog %p: not as given", s.Addr, s.Handler, s.ErrorLog)
			}
		})
	}
	if s := NewServer("", h, ServerOptions{}, nil); s.ErrorLog != nil {
		t.Errorf("nil errLog became %v", s.ErrorLog)
	}
}

// TestNewServerLimitsApply runs a server built by NewServer and checks that
// the header cap and the header read timeout are in force.
func TestNewServerLimitsApply(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	var logBuf bytes.Buffer
	ts := httptest.NewUnstartedServer(h)
	ts.Config = NewServer("", h, ServerOptions{ReadHeaderTimeout: 200 * time.Millisecond}, log.New(&logBuf, "", 0))
	ts.Start()
	defer ts.Close()

	// Small headers pass.
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.Header.Set("X-Small", strings.Repeat("a", 1<<10))
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("small headers: status %d", resp.StatusCode)
	}

	// Headers over 64 KiB (plus net/http's 4 KiB slack) are refused.
	req, _ = http.NewRequest("GET", ts.URL, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 70<<10))
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("70 KiB of headers: status %d; want 431", resp.StatusCode)
	}

	// A client that never finishes its headers is disconnected.
	conn, err := (&netDialer{}).dial(ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("server did not close a slow-header connection: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow-header connection closed after %v", d)
	}
}

type netDialer struct{}

func (netDialer) dial(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 5*time.Second)
}
