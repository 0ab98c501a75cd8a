package hosttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
)

// WebSocketEcho starts a WebSocket backend (github.com/coder/websocket) that
// sends every message back, closed when the test ends. The error that ends
// a connection (a close frame read, a failed write) is sent to closed when
// closed is not nil and has room; it is dropped otherwise.
func WebSocketEcho(t testing.TB, closed chan<- error) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err == nil {
				err = c.Write(ctx, typ, msg)
			}
			if err != nil {
				if closed != nil {
					select {
					case closed <- err:
					default:
					}
				}
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
