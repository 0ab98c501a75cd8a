package edge

import (
	"crypto/tls"
	"log"
	"net/http"
	"time"
)

// ServerOptions are the limits of the gateway's listening http.Server. A
// zero field takes the value from DefaultServerOptions. A negative duration
// is passed to http.Server unchanged, which disables that timeout.
type ServerOptions struct {
	// ReadHeaderTimeout bounds the time to read the request line and
	// headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read the whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the next
	// request.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the size of the request line and headers. Zero or
	// negative takes the default.
	MaxHeaderBytes int
}

// DefaultServerOptions returns the limits for an internet-facing gateway:
//
//   - ReadHeaderTimeout 10s: a client that trickles its headers (Slowloris)
//     holds a connection and a goroutine without ever reaching a handler;
//     10s is ample for a real client on a slow link.
//   - ReadTimeout 0 (none): it is one deadline for the whole request, body
//     included, so any single value either cuts off legitimate large
//     uploads or is too long to protect anything. Bodies are limited per
//     API elsewhere, where the acceptable size and duration are known.
//   - WriteTimeout 0 (none): it is one deadline for the whole response, so
//     it would cut off streaming responses (server-sent events, long
//     downloads, long-polling) at an arbitrary point.
//   - IdleTimeout 120s: reusing keep-alive connections saves handshakes,
//     but each idle one costs a file descriptor and memory. 120s is longer
//     than the idle timeouts of typical clients and load balancers in front
//     of the gateway (AWS ALB 60s, Go's http.Transport 90s), so the peer
//     closes first and never sends a request on a connection we are
//     closing.
//   - MaxHeaderBytes 64 KiB: net/http's default of 1 MiB lets every
//     connection make the server buffer a megabyte before any policy runs;
//     64 KiB still fits large cookies and bearer tokens and is in line with
//     other proxies (AWS ALB allows 64 KiB of headers in total). net/http
//     adds 4 KiB of slack to this limit and answers 431 when it is
//     exceeded.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       0,
		WriteTimeout:      0,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// NewServer returns an http.Server listening on addr, serving h, with the
// limits in o (zero fields take their defaults from DefaultServerOptions)
// and logging its own errors, such as failed TLS handshakes, to errLog. A nil
// errLog makes the server log to the standard logger, as http.Server does.
func NewServer(addr string, h http.Handler, o ServerOptions, errLog *log.Logger) *http.Server {
	d := DefaultServerOptions()
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = d.ReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = d.WriteTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// UseTLS sets the server's TLS configuration and protocols for a TLS
// listener: HTTP/2 (ALPN h2) and HTTP/1.1. Serve it with
// srv.ServeTLS(ln, "", "") (the certificates come from cfg).
func UseTLS(srv *http.Server, cfg *tls.Config) {
	srv.TLSConfig = cfg
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	srv.Protocols = p
}

// AllowH2C makes a plain-text server accept unencrypted HTTP/2 with prior
// knowledge (h2c, as gRPC clients speak it) besides HTTP/1.1. Off unless
// asked (--h2c): the HTTP/1.1 Upgrade to h2c is not supported, and an
// h2c listener on the internet is rarely intended.
func AllowH2C(srv *http.Server) {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = p
}
