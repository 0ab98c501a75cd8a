package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

const testToken = "gha_test-token"

var testMaster = bytes.Repeat([]byte{0x42}, 32)

// testValidateModule stands in for the host's module validation, which
// the lead's serve tests exercise with the real wazero engine: it accepts
// anything starting with the wasm magic and refuses everything else.
func testValidateModule(_ context.Context, wasm []byte) (int, []string, error) {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return 0, nil, errors.New("not a WebAssembly module (bad magic)")
	}
	return 1, []string{"log"}, nil
}

// env is a running admin API over a fresh SQLite catalog.
type env struct {
	t   testing.TB
	st  *sqlite.Store
	srv *httptest.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), testMaster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := New(Options{Store: st, Token: testToken, ValidateModule: testValidateModule,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv}
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errBody decodes the error shape.
func (r resp) err(t testing.TB) errorBody {
	t.Helper()
	var b errorBody
	r.json(t, &b)
	return b
}

// do sends a request with the test token; body may be nil, a string, a
// []byte or a value encoded as JSON.
func (e *env) do(method, path string, body any) resp {
	return e.doAuth(method, path, body, "Bearer "+testToken, "application/json")
}

// doAccept GETs path with an Accept header.
func (e *env) doAccept(path, accept string) resp {
	e.t.Helper()
	return e.send("GET", path, nil, "Bearer "+testToken, "", accept)
}

func (e *env) doAuth(method, path string, body any, auth, ctype string) resp {
	e.t.Helper()
	return e.send(method, path, body, auth, ctype, "")
}

func (e *env) send(method, path string, body any, auth, ctype, accept string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if rd != nil && ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// must sends a request and fails unless it answers want; it decodes the
// answer into out when out is not nil.
func (e *env) must(want int, method, path string, body, out any) resp {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		r.json(e.t, out)
	}
	return r
}

func (e *env) version() int64 {
	e.t.Helper()
	var v struct{ Version int64 }
	e.must(200, "GET", "/version", nil, &v)
	return v.Version
}

// upload posts a module as multipart/form-data, granting nothing.
func (e *env) upload(name, version, manifest string, wasm []byte) resp {
	e.t.Helper()
	return e.uploadGrant(name, version, manifest, "", wasm)
}

// uploadGrant posts a module with the grant field set (when not "").
func (e *env) uploadGrant(name, version, manifest, grant string, wasm []byte) resp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if name != "" {
		mw.WriteField("name", name)
	}
	if version != "" {
		mw.WriteField("version", version)
	}
	if manifest != "" {
		mw.WriteField("manifest", manifest)
	}
	if grant != "" {
		mw.WriteField("grant", grant)
	}
	if wasm != nil {
		fw, _ := mw.CreateFormFile("wasm", "m.wasm")
		fw.Write(wasm)
	}
	mw.Close()
	return e.doAuth("POST", "/modules", buf.Bytes(), "Bearer "+testToken, mw.FormDataContentType())
}

var wasmBytes = []byte("\x00asm\x01\x00\x00\x00")

// seed creates an API with an operation, a product containing it and a
// user.
func (e *env) seed() {
	e.t.Helper()
	e.must(201, "POST", "/apis", map[string]any{"id": "echo", "name": "Echo", "pathPrefix": "/echo", "backendUrl": "http://127.0.0.1:9/", "subscriptionRequired": true}, nil)
	e.must(201, "POST", "/apis/echo/operations", map[string]any{"id": "get-item", "name": "Get item", "method": "GET", "urlTemplate": "/items/{id}"}, nil)
	e.must(201, "POST", "/products", map[string]any{"id": "starter", "name": "Starter", "published": true}, nil)
	e.must(201, "PUT", "/products/starter/apis/echo", nil, nil)
	e.must(201, "POST", "/users", map[string]any{"id": "dev", "email": "dev@example.com", "name": "Dev"}, nil)
}
