package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGRPCErrors(t *testing.T) {
	answer := func(status int, ct, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.Header().Set("X-Extra", "1")
			w.WriteHeader(status)
			io.WriteString(w, body)
		})
	}
	grpcReq := func(ct string) *http.Request {
		r := httptest.NewRequest("POST", "/svc/M", strings.NewReader(""))
		r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
		r.Header.Set("Content-Type", ct)
		return r
	}
	for _, tc := range []struct {
		name       string
		req        *http.Request
		h          http.Handler
		wantStatus int
		wantGRPC   string
		wantMsg    string
		wantBody   string
	}{
		{"policy 401 JSON", grpcReq("application/grpc"), answer(401, "application/json", `{"statusCode":401,"message":"Access denied: no key","requestId":"x"}`), 200, "16", "Access denied: no key", ""},
		{"429 plain", grpcReq("application/grpc+proto"), answer(429, "text/plain", "slow down"), 200, "8", "slow down", ""},
		{"502 empty", grpcReq("application/grpc;charset=x"), answer(502, "", ""), 200, "14", "Bad Gateway", ""},
		{"non-ASCII and percent", grpcReq("application/grpc"), answer(403, "text/plain", "nö 100%\n"), 200, "7", "n%C3%B6 100%25", ""},
		{"long body capped", grpcReq("application/grpc"), answer(500, "text/plain", strings.Repeat("x", 5000)), 200, "13", strings.Repeat("x", 1024), ""},
		{"teapot", grpcReq("application/grpc"), answer(418, "text/plain", "tea"), 200, "2", "tea", ""},
		{"backend gRPC untouched", grpcReq("application/grpc"), answer(200, "application/grpc", "\x00\x00\x00\x00\x00"), 200, "", "", "\x00\x00\x00\x00\x00"},
		{"not gRPC untouched", httptest.NewRequest("GET", "/", nil), answer(401, "application/json", `{"message":"no"}`), 401, "", "", `{"message":"no"}`},
		{"gRPC-like content type untouched", grpcReq("application/grpcx"), answer(401, "text/plain", "no"), 401, "", "", "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			observed := -2
			GRPCErrors(tc.h, func(code int) { observed = code }).ServeHTTP(w, tc.req)
			if want := map[string]int{"": -2, "16": 16, "8": 8, "14": 14, "7": 7, "13": 13, "2": 2}[tc.wantGRPC]; tc.name == "backend gRPC untouched" && observed != -1 || tc.name != "backend gRPC untouched" && observed != want {
				t.Errorf("observed grpc-status %d", observed)
			}
			if w.Code != tc.wantStatus || w.Header().Get("Grpc-Status") != tc.wantGRPC ||
				w.Header().Get("Grpc-Message") != tc.wantMsg || w.Body.String() != tc.wantBody {
				t.Fatalf("got %d grpc-status %q grpc-message %q body %q", w.Code, w.Header().Get("Grpc-Status"), w.Header().Get("Grpc-Message"), w.Body.String())
			}
			if tc.wantGRPC != "" && (w.Header().Get("Content-Type") != "application/grpc" || w.Header().Get("X-Extra") != "") {
				t.Errorf("converted answer headers: %v", w.Header())
			}
		})
	}
}

func TestFinalGRPCStatus(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want int
	}{
		{http.Header{"Grpc-Status": {"0"}}, 0},
		{http.Header{"Trailer:Grpc-Status": {"14"}}, 14},
		{http.Header{}, -1},
		{http.Header{"Grpc-Status": {"x"}}, -1},
		{http.Header{"Grpc-Status": {"-3"}}, -1},
		{http.Header{"Grpc-Status": {"1", "2"}}, -1},
		{http.Header{"Grpc-Status": {"99"}}, 99},
	} {
		if got := finalGRPCStatus(tc.h); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.h, got, tc.want)
		}
	}
}
