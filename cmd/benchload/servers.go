package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// backendBody is the fixed response of the benchmark backend: exactly 100
// bytes, so that the response is small and the proxies' per-request overhead
// dominates rather than the copying of bytes.
const backendBody = `{"ok":true,"from":"benchload-backend","pad":"0123456789abcdef0123456789abcdef0123456789abcdef01234"}`

// echoPath is the one backend path that does something other than answer the
// fixed body: it lists the request headers it received, so the harness can
// check once (outside the measured runs) that a gateway's policies ran.
const echoPath = "/_echo"

// echoQuery in a request's query also asks the backend for the echo.
const echoQuery = "_echo"

// xmlPath answers backendXML instead of backendBody: the input of the
// xml-to-json target of the policies mode.
const xmlPath = "/_xml"

// backendXML is the backend's XML answer at xmlPath, 100 bytes like
// backendBody.
const backendXML = `<?xml version="1.0"?><r><ok>true</ok><from>benchload-backend</from><pad>0123456789abcdef01</pad></r>`

// Header values shared by every response; the server only reads them.
var (
	backendCT    = []string{"application/json"}
	backendCL    = []string{strconv.Itoa(len(backendBody))}
	bodyBytes    = []byte(backendBody)
	backendXMLCT = []string{"application/xml"}
	backendXMLCL = []string{strconv.Itoa(len(backendXML))}
	xmlBytes     = []byte(backendXML)
)

// backendHandler answers 200 with backendBody, doing as little as possible.
type backendHandler struct{}

func (backendHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A query containing "_echo" also asks for the echo, for policies that
	// rewrite the path (the harness's load never sends a query).
	if r.URL.Path == echoPath || (r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, echoQuery)) {
		writeEcho(w, r)
		return
	}
	h := w.Header()
	if r.URL.Path == xmlPath {
		h["Content-Type"] = backendXMLCT
		h["Content-Length"] = backendXMLCL
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(xmlBytes)
		return
	}
	h["Content-Type"] = backendCT
	h["Content-Length"] = backendCL
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(bodyBytes)
}

// writeEcho writes the request line and headers as text, sorted.
func writeEcho(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// runBackend is the `backend` mode: a minimal HTTP/1.1 server.
func runBackend(args []string) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	srv := &http.Server{
		Handler:           backendHandler{},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	return serveOn(srv, *listen, "backend")
}

// runBareProxy is the `bareproxy` mode: the baseline every ratio is against.
// It is a plain httputil.ReverseProxy tuned like a production one would be
// (the Transport mirrors the gateway's, so the comparison isolates what the
// gateway adds on top of proxying: routing, hygiene and the policy chain).
func runBareProxy(args []string) error {
	fs := flag.NewFlagSet("bareproxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	backend := fs.String("backend", "", "backend base URL, e.g. http://127.0.0.1:9000")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *backend == "" {
		return usagef("bareproxy: -backend is required")
	}
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		return usagef("bareproxy: bad -backend %q", *backend)
	}
	srv := &http.Server{
		Handler:           newBareProxy(target),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return serveOn(srv, *listen, "bareproxy")
}

// newBareProxy returns the tuned reverse proxy to target.
func newBareProxy(target *url.URL) *httputil.ReverseProxy {
	// The same tuned transport the gateway uses, so the ratio measures the
	// gateway's own work and not a transport difference.
	tr := gateway.NewTransport()
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:    tr,
		BufferPool:   &copyBuffers{},
		ErrorHandler: proxyError,
	}
}

// proxyError answers 502 and logs, except for requests the client gave up
// on (wrk closes its connections mid-request when a run ends).
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, context.Canceled) {
		log.Printf("proxy error: %v", err)
	}
	w.WriteHeader(http.StatusBadGateway)
}

// copyBufSize is the size of the proxy's body-copy buffers.
const copyBufSize = 32 << 10

// copyBuffers is an httputil.BufferPool of 32 KiB buffers. It stores array
// pointers so that Put does not allocate.
type copyBuffers struct{ p sync.Pool }

// Get returns a 32 KiB buffer.
func (c *copyBuffers) Get() []byte {
	if v, ok := c.p.Get().(*[copyBufSize]byte); ok {
		return v[:]
	}
	return make([]byte, copyBufSize)
}

// Put returns a buffer obtained from Get.
func (c *copyBuffers) Put(b []byte) {
	if cap(b) >= copyBufSize {
		c.p.Put((*[copyBufSize]byte)(b[:copyBufSize]))
	}
}

// flagError passes -h through and makes other flag errors usage errors.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err.Error()}
}

// serveOn listens on addr, says where on stderr, and serves until killed.
func serveOn(srv *http.Server, addr, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "%s: listening on %s (pid %d)\n", name, ln.Addr(), os.Getpid())
	return srv.Serve(ln)
}
