package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// On graceful shutdown the gateway sends both sides of an open WebSocket
// the close frame 1001 "going away": the client and the backend (both
// github.com/coder/websocket) read it as such, the connection is counted
// and recorded once.
func TestWebSocketsGoAwayOnShutdown(t *testing.T) {
	backendClose := make(chan error, 1)
	be := hosttest.WebSocketEcho(t, backendClose)
	cfg := &gateway.Config{APIs: []gateway.API{{Name: "ws", PathPrefix: "/ws", Backend: be.URL}}}
	env := newEdgeEnv(t, cfg, gateway.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.srv.URL, "http")+"/ws/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// A message larger than one read, so that the splice is exercised
	// across frame and chunk boundaries before the shutdown.
	big := strings.Repeat("x", 30<<10) // under the library's 32 KiB read limit
	for _, m := range []string{"hello", big} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != m {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(m), len(got), err)
		}
	}
	clientErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		clientErr <- err
	}()

	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if n := env.g.CloseWebSockets(sctx); n != 1 {
		t.Fatalf("CloseWebSockets closed %d connections, want 1", n)
	}
	if sctx.Err() != nil {
		t.Fatal("the connection did not end before the shutdown deadline")
	}
	if err := <-clientErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client: %v, want close status 1001", err)
	}
	select {
	case err := <-backendClose:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("backend: %v, want close status 1001", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend got no close frame")
	}
	if got := env.g.WebSocketsClosedOnShutdown(); got != 1 {
		t.Fatalf("counted %d", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(env.rec.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if recs := env.rec.all(); len(recs) != 1 || recs[0].Status != http.StatusSwitchingProtocols {
		t.Fatalf("records: %+v", recs)
	}
	// A WebSocket handshake after the shutdown began is refused.
	c2, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.srv.URL, "http")+"/ws/echo", nil)
	if err == nil {
		c2.CloseNow()
		t.Fatal("a WebSocket was opened during shutdown")
	}
	if res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake during shutdown: %v %v", res, err)
	}
}
