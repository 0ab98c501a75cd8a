package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestWebSocketGoingAwayOnSIGTERM: serve, an open WebSocket through it,
// SIGTERM: the client and the backend both get the close frame 1001, the
// process exits 0 and logs the count.
func TestWebSocketGoingAwayOnSIGTERM(t *testing.T) {
	backendClose := make(chan error, 1)
	be := hosttest.WebSocketEcho(t, backendClose)
	work := t.TempDir()
	cfg := fmt.Sprintf("apis:\n  - name: ws\n    path: /ws\n    backend: %s\n", be.URL)
	if err := os.WriteFile(filepath.Join(work, "gw.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, work, "--config", "gw.yaml", "--shutdown-timeout", "10s")
	defer s.cmd.Process.Kill()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.gateway, "http")+"/ws/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hi" {
		t.Fatalf("echo: %q %v", msg, err)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client: %v, want close status 1001", err)
	}
	select {
	case err := <-backendClose:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("backend: %v, want close status 1001", err)
		}
	case <-ctx.Done():
		t.Fatal("the backend got no close frame")
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.cmd.ProcessState == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.cmd.ProcessState == nil || !s.cmd.ProcessState.Success() {
		t.Fatalf("exit after SIGTERM: %v\n%s", s.cmd.ProcessState, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), `"websockets closed for shutdown","count":1`) {
		t.Errorf("no count logged:\n%s", s.stderr.String())
	}
}
