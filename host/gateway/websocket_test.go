package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// wsEcho is a real WebSocket echo backend (github.com/coder/websocket). It
// records the X-Bench header of each handshake and counts handshakes.
type wsEcho struct {
	*httptest.Server
	handshakes atomic.Int64
	sawHeader  atomic.Value // string: the X-Policy header of the last handshake
}

func newWSEcho(t *testing.T) *wsEcho {
	e := &wsEcho{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			w.Write([]byte("plain"))
			return
		}
		e.handshakes.Add(1)
		e.sawHeader.Store(r.Header.Get("X-Policy"))
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func wsEnv(t *testing.T, ws gateway.WebSocketConfig) (*edgeEnv, *wsEcho) {
	be := newWSEcho(t)
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "ws", PathPrefix: "/ws", Backend: be.URL, WebSocket: ws, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("check-header", `{"name":"X-Pass","values":["yes"]}`),
			step("set-header", `{"name":"X-Policy","value":"ran"}`),
		}}},
	}}
	return newEdgeEnv(t, cfg, gateway.Options{}), be
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// A WebSocket handshake runs the inbound chain: a policy that refuses gets
// its answer to the client and the backend sees no handshake; one that
// passes reaches the backend with the policy's header, and messages echo
// both ways through the gateway; the call is recorded with its bytes and
// duration when the connection ends.
func TestWebSocketThroughPolicyChain(t *testing.T) {
	en, be := wsEnv(t, gateway.WebSocketConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Refused by check-header: 401, no handshake at the backend.
	_, resp, err := websocket.Dial(ctx, wsURL(en.srv, "/ws/echo"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without X-Pass: err %v, resp %+v; want a 401", err, resp)
	}
	if n := be.handshakes.Load(); n != 0 {
		t.Fatalf("backend saw %d handshakes for a refused call", n)
	}

	// Passed: echo through the gateway.
	c, resp, err := websocket.Dial(ctx, wsURL(en.srv, "/ws/echo"), &websocket.DialOptions{HTTPHeader: http.Header{"X-Pass": {"yes"}}})
	if err != nil {
		t.Fatalf("dial through the gateway: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("handshake answer %d %v", resp.StatusCode, resp.Header)
	}
	if got, _ := be.sawHeader.Load().(string); got != "ran" {
		t.Fatalf("backend saw X-Policy %q, want the policy's value", got)
	}
	sent := 0
	for i := range 5 {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", 1000*i))
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		sent += len(msg)
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.MessageText || string(got) != msg {
			t.Fatalf("echo %d: %v %q", i, typ, got)
		}
	}
	c.Close(websocket.StatusNormalClosure, "bye")

	recs := en.rec.waitRecords(t, 2)
	ws := recs[len(recs)-1]
	if recs[0].Status != http.StatusUnauthorized || ws.Status != http.StatusSwitchingProtocols {
		t.Fatalf("records %d and %d, want 401 and 101", recs[0].Status, ws.Status)
	}
	// Client frames are masked and carry a header: at least the payload.
	if ws.BytesIn < int64(sent) || ws.BytesOut < int64(sent) || ws.Total <= 0 {
		t.Fatalf("websocket record: in %d out %d total %v; want ≥ %d each way", ws.BytesIn, ws.BytesOut, ws.Total, sent)
	}
}

// An idle connection is closed after the API's idle timeout, a busy one
// after its maximum duration.
func TestWebSocketLimits(t *testing.T) {
	en, _ := wsEnv(t, gateway.WebSocketConfig{IdleTimeout: gateway.Duration(150 * time.Millisecond), MaxDuration: gateway.Duration(700 * time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr := &websocket.DialOptions{HTTPHeader: http.Header{"X-Pass": {"yes"}}}

	// Idle: read with nothing sent; the gateway closes the connection.
	c, _, err := websocket.Dial(ctx, wsURL(en.srv, "/ws/idle"), hdr)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("read on an idle connection returned a message")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle connection closed only after %v", d)
	}
	c.CloseNow()

	// Busy: a message every 50 ms (never idle); closed at the max duration.
	c, _, err = websocket.Dial(ctx, wsURL(en.srv, "/ws/busy"), hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	start = time.Now()
	var lastErr error
	for time.Since(start) < 5*time.Second {
		if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			lastErr = err
			break
		}
		if _, _, err := c.Read(ctx); err != nil {
			lastErr = err
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lastErr == nil {
		t.Fatal("busy connection still open after 5 s (max duration 700 ms)")
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("busy connection closed after %v, before its max duration (idle closed it?)", d)
	}
}

// Upgrades other than websocket are refused before any policy runs; h2c is
// ignored (the request is served as plain HTTP/1.1).
func TestUpgradeOtherThanWebSocket(t *testing.T) {
	en, be := wsEnv(t, gateway.WebSocketConfig{})
	for _, tc := range []struct {
		upgrade, method string
		want            int
	}{
		{"TLS/1.0", "GET", http.StatusBadRequest},
		{"websocket, foo", "GET", http.StatusBadRequest},
		{"websocket", "POST", http.StatusBadRequest},
		{"h2c", "GET", http.StatusOK},
	} {
		conn, err := net.Dial("tcp", en.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s /ws/plain HTTP/1.1\r\nHost: x\r\nX-Pass: yes\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n", tc.method, tc.upgrade)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.upgrade, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("Upgrade: %s (%s): %d, want %d", tc.upgrade, tc.method, resp.StatusCode, tc.want)
		}
	}
	if n := be.handshakes.Load(); n != 0 {
		t.Errorf("backend saw %d websocket handshakes", n)
	}
}

// Without an Observer or metrics (an embedder's gateway), a client that only
// sends is still active: the idle limit counts its bytes too.
func TestWebSocketIdleCountsClientBytesWithoutObserver(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}))
	t.Cleanup(sink.Close)
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{{Name: "ws", PathPrefix: "/ws", Backend: sink.URL,
		WebSocket: gateway.WebSocketConfig{IdleTimeout: gateway.Duration(300 * time.Millisecond)}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(en.srv, "/ws/sink"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Sends every 50 ms for 1.5 s: never idle for 300 ms from the
	// client's side, although the backend never answers.
	for start := time.Now(); time.Since(start) < 1500*time.Millisecond; time.Sleep(50 * time.Millisecond) {
		if err := c.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
			t.Fatalf("after %v: %v (closed as idle while the client was sending?)", time.Since(start), err)
		}
	}
	// Then silent: closed by the idle limit.
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("read returned a message from a sink")
	}
}
