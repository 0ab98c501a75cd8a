package adminapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// putIfMatch PUTs a policy document with an If-Match header.
func (e *env) putIfMatch(t *testing.T, path, ifMatch string, body any) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("PUT", e.srv.URL+Prefix+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, rb
}

// TestPolicyIfMatch: GET answers an ETag, PUT with a stale If-Match is
// 412 and stores nothing, PUT with the current one succeeds and answers
// the new tag (equal to what the next GET answers); no If-Match keeps
// working as before; "*" needs a stored document.
func TestPolicyIfMatch(t *testing.T) {
	e := newEnv(t)
	if r := e.uploadGrant("ratelimit", "1.0.0", rateLimitManifest, "all", wasmBytes); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	doc := func(limit int) map[string]any {
		return map[string]any{"inbound": []any{map[string]any{"module": "ratelimit", "config": map[string]any{"limit": limit}}}}
	}
	// No document yet: any tag, and "*", fail; none succeeds.
	for _, tag := range []string{`"abc"`, "*"} {
		if st, _, b := e.putIfMatch(t, "/policies/global", tag, doc(1)); st != http.StatusPreconditionFailed {
			t.Fatalf("If-Match %s on no document: %d %s", tag, st, b)
		}
	}
	e.must(404, "GET", "/policies/global", nil, nil)
	st, h, b := e.putIfMatch(t, "/policies/global", "", doc(1))
	if st != 200 || h.Get("ETag") == "" {
		t.Fatalf("PUT without If-Match: %d %q %s", st, h.Get("ETag"), b)
	}
	first := h.Get("ETag")
	if g := e.must(200, "GET", "/policies/global", nil, nil); g.header.Get("ETag") != first {
		t.Fatalf("GET ETag %q, PUT answered %q", g.header.Get("ETag"), first)
	}
	// Someone else saves: the first tag is stale.
	e.must(200, "PUT", "/policies/global", doc(2), nil)
	st, _, b = e.putIfMatch(t, "/policies/global", first, doc(3))
	if st != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", st, b)
	}
	var eb errorBody
	json.Unmarshal(b, &eb)
	if eb.Error.Code != "precondition_failed" {
		t.Errorf("stale If-Match body %s", b)
	}
	var got struct {
		Inbound []struct{ Config map[string]int }
	}
	g := e.must(200, "GET", "/policies/global", nil, &got)
	if got.Inbound[0].Config["limit"] != 2 {
		t.Fatalf("the refused PUT changed the document: %+v", got)
	}
	// The current tag (or "*", or a list holding it) succeeds.
	cur := g.header.Get("ETag")
	if cur == first {
		t.Fatal("the ETag did not change with the document")
	}
	for i := range 3 {
		tag := []string{cur, "*", `"x", ` + cur}[i]
		st, h, b := e.putIfMatch(t, "/policies/global", tag, doc(10+i))
		if st != 200 {
			t.Fatalf("If-Match %s: %d %s", tag, st, b)
		}
		cur = h.Get("ETag")
	}
	// Attach and move honour If-Match too (they store through the same path).
	req, _ := http.NewRequest("POST", e.srv.URL+Prefix+"/policies/global/inbound", bytes.NewReader([]byte(`{"entry":{"module":"ratelimit","config":{"limit":4}}}`)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", first)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("attach with a stale If-Match: %d", res.StatusCode)
	}
}

// FuzzPolicyIfMatch: any If-Match header either matches (it names the
// current tag or "*" among its comma-separated values) or answers 412;
// it never panics and never matches a missing document.
func FuzzPolicyIfMatch(f *testing.F) {
	cur := catalog.PolicyDoc{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{{Module: "m", Config: json.RawMessage(`{"a":1}`)}}}
	tag := policyETag(cur)
	for _, s := range []string{"", "*", tag, `"x", ` + tag, `W/` + tag, `"`, ",,,", " * ", tag + tag} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r, _ := http.NewRequest("PUT", "/", nil)
		r.Header["If-Match"] = []string{h}
		want := strings.TrimSpace(h) == ""
		for _, v := range strings.Split(h, ",") {
			if v = strings.TrimSpace(v); v == "*" || v == tag {
				want = true
			}
		}
		if err := checkIfMatch(r, cur.Scope, "", cur, true); (err == nil) != want {
			t.Fatalf("If-Match %q on an existing document: err %v, want match %v", h, err, want)
		}
		if err := checkIfMatch(r, cur.Scope, "", catalog.PolicyDoc{}, false); (err == nil) != (strings.TrimSpace(h) == "") {
			t.Fatalf("If-Match %q on no document: err %v", h, err)
		}
	})
}
