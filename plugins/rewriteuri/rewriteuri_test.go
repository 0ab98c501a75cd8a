package rewriteuri_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/rewriteuri"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(rewriteuri.Name, rewriteuri.New) }

func TestRewrite(t *testing.T) {
	params := map[string]string{"id": "42", "name": "a b&c", "pct": "%2F"}
	for _, tc := range []struct{ query, config, path, wantQuery string }{
		{"x=1&y=2", `{"template":"/v2/users/{id}/profile"}`, "/v2/users/42/profile", "x=1&y=2"},
		{"x=1&y=2", `{"template":"/v2/users/{id}","copy_unmatched_params":false}`, "/v2/users/42", ""},
		{"x=1&y=2&id=9", `{"template":"/u?id={id}&n={name}&static=1"}`, "/u", "id=42&n=a+b%26c&static=1&x=1&y=2"},
		{"x=1&st%61tic=0", `{"template":"/u?static=1","copy_unmatched_params":false}`, "/u", "static=1"},
		{"x=1&st%61tic=0", `{"template":"/u?static=1"}`, "/u", "static=1&x=1"},
		{"", `{"template":"/files/{id}.json"}`, "/files/42.json", ""},
		{"", `{"template":"/lit/{{x}}/{pct}"}`, "/lit/{x}/%2F", ""},
		{"", `{"template":"/"}`, "/", ""},
	} {
		res := sdktest.New().Do(sdktest.Request{Path: "/api/users/42", PathPrefix: "/api", Query: tc.query, Params: params},
			sdktest.Attach(rewriteuri.Name, tc.config))
		if res.Err != nil {
			t.Errorf("%s: %v", tc.config, res.Err)
			continue
		}
		if res.Upstream.Path != tc.path || res.Upstream.Query != tc.wantQuery {
			t.Errorf("%s: upstream %q ? %q, want %q ? %q", tc.config, res.Upstream.Path, res.Upstream.Query, tc.path, tc.wantQuery)
		}
	}
}

// A client-controlled parameter must not climb out of the template's path:
// the host would resolve "/users/../admin" to "/admin".
func TestTraversalRefused(t *testing.T) {
	for _, v := range []string{"../admin", "..", ".", "a/b", "..;x", `a\b`, "a\x00b", "a\r\nb", ""} {
		for _, tmpl := range []string{"/users/{id}", "/users/{id}/x", "/users/.{id}"} {
			if tmpl == "/users/.{id}" && v != "." && v != ".;" {
				continue
			}
			res := sdktest.New().Do(sdktest.Request{Path: "/users/x", Params: map[string]string{"id": v}},
				sdktest.Attach(rewriteuri.Name, `{"template":"`+tmpl+`"}`))
			if res.Err != nil || !res.Answered || res.Status != 400 || res.Upstream != nil {
				t.Errorf("%q in %s: err %v answered %v status %d upstream %+v", v, tmpl, res.Err, res.Answered, res.Status, res.Upstream)
			}
			if !strings.Contains(string(res.Body), "Invalid path parameter") {
				t.Errorf("%q: body %s", v, res.Body)
			}
		}
	}
	// Dots inside a segment are fine.
	res := sdktest.New().Do(sdktest.Request{Params: map[string]string{"id": "..."}}, sdktest.Attach(rewriteuri.Name, `{"template":"/f/{id}"}`))
	if res.Err != nil || res.Upstream == nil || res.Upstream.Path != "/f/..." {
		t.Errorf("...: %v %+v", res.Err, res.Upstream)
	}
}

func TestMissingParam(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(rewriteuri.Name, `{"template":"/u/{id}"}`))
	if res.Status != 400 || res.Upstream != nil {
		t.Errorf("status %d", res.Status)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "template is required"},
		{`{"template":"users/{id}"}`, "must start with /"},
		{`{"template":"/a/../b"}`, `"." and ".." segments`},
		{`{"template":"/a/./b"}`, `"." and ".." segments`},
		{`{"template":"/a%2Fb"}`, "written decoded"},
		{`{"template":"/a\\b"}`, "written decoded"},
		{`{"template":"/a/{id"}`, "unclosed {"},
		{`{"template":"/a/}"}`, "unmatched }"},
		{`{"template":"/a/{}"}`, "not a path parameter name"},
		{`{"template":"/a?{k}=1"}`, "query parameter names must be literal"},
		{`{"template":"/a?k=a b"}`, "must not contain spaces"},
		{`{"template":"/a\u0001"}`, "control characters"},
		{`{"template":"/a","copy_unmatched_params":"yes"}`, `field "copy_unmatched_params": expected true or false`},
		{`{"template":"/a","copy-unmatched-params":true}`, `unknown field`},
	} {
		_, err := rewriteuri.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
