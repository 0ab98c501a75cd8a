package edge

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// gRPC at the edge. gRPC calls pass through the gateway like any HTTP/2
// request (trailers and streaming included). What a gRPC client cannot
// read is an answer the gateway itself makes — a policy's 401, a 404 for
// no route, a 502 when the backend is down — because gRPC carries its
// status in grpc-status, not in the HTTP status. GRPCErrors turns such an
// answer into a gRPC "trailers-only" response: HTTP 200, content-type
// application/grpc, grpc-status mapped from the HTTP status by
// GRPCStatusForHTTP, grpc-message from the answer's body.

// gRPC status codes (google.golang.org/grpc/codes) used by the mapping.
const (
	GRPCOK                = 0
	GRPCUnknown           = 2
	GRPCInvalidArgument   = 3
	GRPCDeadlineExceeded  = 4
	GRPCNotFound          = 5
	GRPCPermissionDenied  = 7
	GRPCResourceExhausted = 8
	GRPCUnimplemented     = 12
	GRPCInternal          = 13
	GRPCUnavailable       = 14
	GRPCUnauthenticated   = 16
	grpcMessageLimit      = 1024
	grpcContentTypePrefix = "application/grpc"
	grpcStatusHeader      = "Grpc-Status"
	grpcMessageHeader     = "Grpc-Message"
)

// GRPCStatusForHTTP maps the HTTP status of an answer the gateway made to
// a gRPC status code. It follows gRPC's own table for HTTP errors
// (doc/http-grpc-status-mapping.md: 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 UNIMPLEMENTED, 502/503/504 UNAVAILABLE) with
// three deliberate differences, because here the status comes from a
// policy with a known meaning rather than from an unknown HTTP hop: 400
// is INVALID_ARGUMENT (not INTERNAL), 408 and 504 are DEADLINE_EXCEEDED,
// and 413 and 429 are RESOURCE_EXHAUSTED — the code gRPC servers use for
// rate limits and quotas, which clients do not retry blindly as they do
// UNAVAILABLE.
func GRPCStatusForHTTP(status int) int {
	switch status {
	case http.StatusOK:
		return GRPCOK
	case http.StatusBadRequest:
		return GRPCInvalidArgument
	case http.StatusUnauthorized:
		return GRPCUnauthenticated
	case http.StatusForbidden:
		return GRPCPermissionDenied
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return GRPCUnimplemented
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return GRPCDeadlineExceeded
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return GRPCResourceExhausted
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return GRPCUnavailable
	case http.StatusInternalServerError:
		return GRPCInternal
	}
	return GRPCUnknown
}

// IsGRPC reports whether r is a gRPC call (content-type application/grpc,
// with or without a +codec suffix, over HTTP/2).
func IsGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 {
		return false
	}
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, grpcContentTypePrefix) &&
		(len(ct) == len(grpcContentTypePrefix) || ct[len(grpcContentTypePrefix)] == '+' || ct[len(grpcContentTypePrefix)] == ';')
}

// GRPCErrors wraps h so that gRPC calls get gRPC-shaped answers when h
// answers them itself (see the comment at the top of this file). Other
// requests pass through untouched, as do responses that are already gRPC
// (content-type application/grpc from the backend). observe, if not nil,
// gets the final grpc-status of every gRPC call (-1 when the response
// carried none, such as a call the client cancelled).
func GRPCErrors(h http.Handler, observe func(code int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsGRPC(r) {
			h.ServeHTTP(w, r)
			return
		}
		gw := &grpcWriter{ResponseWriter: w}
		h.ServeHTTP(gw, r)
		gw.finish()
		if observe != nil {
			observe(finalGRPCStatus(w.Header()))
		}
	})
}

// finalGRPCStatus reads grpc-status from a finished response's header map:
// in the headers (trailers-only), as a declared trailer, or as an
// undeclared one (http.TrailerPrefix, as httputil.ReverseProxy sets them).
func finalGRPCStatus(h http.Header) int {
	v := h[grpcStatusHeader]
	if len(v) == 0 {
		v = h[http.TrailerPrefix+grpcStatusHeader]
	}
	if len(v) != 1 {
		return -1
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// grpcWriter holds back a non-gRPC answer (status and up to 1 KiB of body)
// and writes it as a trailers-only gRPC response when the handler is done.
type grpcWriter struct {
	http.ResponseWriter
	wrote   bool // WriteHeader decided (either way)
	convert bool // holding a non-gRPC answer
	status  int
	msg     []byte
}

func (g *grpcWriter) WriteHeader(code int) {
	if g.wrote {
		return
	}
	if code >= 100 && code < 200 {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.wrote = true
	if strings.HasPrefix(g.Header().Get("Content-Type"), grpcContentTypePrefix) {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.convert, g.status = true, code
}

func (g *grpcWriter) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if !g.convert {
		return g.ResponseWriter.Write(b)
	}
	if room := grpcMessageLimit - len(g.msg); room > 0 {
		g.msg = append(g.msg, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (g *grpcWriter) Flush() {
	if g.convert {
		return
	}
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (g *grpcWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *grpcWriter) finish() {
	if !g.convert {
		return
	}
	h := g.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", grpcContentTypePrefix)
	h.Set(grpcStatusHeader, strconv.Itoa(GRPCStatusForHTTP(g.status)))
	msg := strings.TrimSpace(string(g.msg))
	// The gateway's own answers are JSON {"statusCode":…,"message":…}:
	// the message alone is what a gRPC client should see.
	var body struct {
		Message string `json:"message"`
	}
	if strings.HasPrefix(msg, "{") && json.Unmarshal([]byte(msg), &body) == nil && body.Message != "" {
		msg = body.Message
	}
	if msg == "" {
		msg = http.StatusText(g.status)
	}
	h.Set(grpcMessageHeader, grpcEncodeMessage(msg))
	h.Set("X-Gatehouse-Http-Status", strconv.Itoa(g.status))
	g.ResponseWriter.WriteHeader(http.StatusOK)
}

// grpcEncodeMessage percent-encodes a grpc-message value as the gRPC
// HTTP/2 spec requires (bytes outside printable ASCII, and '%').
func grpcEncodeMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// FinalGRPCStatus is the grpc-status a finished gRPC call's response
// carried in its headers or trailers (h: the ResponseWriter's header map
// after the handler returned), -1 when none: what GRPCErrors reports.
func FinalGRPCStatus(h http.Header) int { return finalGRPCStatus(h) }
