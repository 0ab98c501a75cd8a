package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

const config = `{"deny":["BadBot","curl/7.1"],"status":403,"message":"Bots are not welcome here."}`

func do(ua string, cfg string) *sdktest.Result {
	h := http.Header{}
	if ua != "" {
		h.Set("User-Agent", ua)
	}
	h.Set("X-UA-Class", "spoofed")
	return sdktest.New().Do(sdktest.Request{Path: "/pets", Header: h}, sdktest.Attach(Name, cfg))
}

func TestBlocked(t *testing.T) {
	for _, ua := range []string{"BadBot/2.0", "Mozilla/5.0 (compatible; BadBot)", "curl/7.10.1"} {
		res := do(ua, config)
		if res.Err != nil || !res.Answered || res.Upstream != nil || res.Status != 403 {
			t.Errorf("%q: status %d answered %v err %v", ua, res.Status, res.Answered, res.Err)
			continue
		}
		if want := `{"message":"Bots are not welcome here.","statusCode":403}`; string(res.Body) != want {
			t.Errorf("%q: body %s", ua, res.Body)
		}
		if res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Policy") != "ua-filter" {
			t.Errorf("%q: headers %v", ua, res.Header)
		}
	}
}

func TestAllowedAndClassified(t *testing.T) {
	for ua, class := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0": "browser",
		"curl/8.5.0":                     "tool",
		"python-requests/2.31.0":         "tool",
		"Go-http-client/1.1":             "tool",
		"Mozilla/5.0 PostmanRuntime/7.1": "tool",
		"SomethingElse/1.0":              "unknown",
		"":                               "unknown",
	} {
		res := do(ua, config)
		if res.Err != nil || res.Answered || res.Upstream == nil {
			t.Errorf("%q: status %d err %v", ua, res.Status, res.Err)
			continue
		}
		if got := res.Upstream.Header.Get("X-UA-Class"); got != class {
			t.Errorf("%q: X-UA-Class %q, want %q", ua, got, class)
		}
		if res.Header.Get("X-Policy") != "ua-filter" || res.Status != 200 {
			t.Errorf("%q: response %d %v", ua, res.Status, res.Header)
		}
	}
}

func TestDefaults(t *testing.T) {
	res := do("BadBot", `{"deny":["BadBot"]}`)
	if res.Status != 403 || !strings.Contains(string(res.Body), "Forbidden") {
		t.Errorf("%d %s", res.Status, res.Body)
	}
	res = do("BadBot", `{"deny":["BadBot"],"status":429,"message":"slow down"}`)
	if res.Status != 429 || string(res.Body) != `{"message":"slow down","statusCode":429}` {
		t.Errorf("%d %s", res.Status, res.Body)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, `"deny" must list`},
		{`{"deny":[]}`, `"deny" must list`},
		{`{"deny":[""]}`, "deny[0] is empty"},
		{`{"deny":["x"],"status":200}`, "not an error status"},
		{`{"deny":["x"],"block":true}`, `unknown field "block"`},
		{`{"deny":"x"}`, "cannot unmarshal"},
		{`{"deny":["x"]} {}`, "unexpected data"},
	} {
		if _, err := New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		if res := do("x", tc.config); res.Err == nil || res.Status != 500 || res.Upstream != nil {
			t.Errorf("%s: chain ran: %d %v", tc.config, res.Status, res.Err)
		}
	}
}
