package sdk_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// probe is a policy whose handlers are test functions, chosen by config:
// {"req":"name","resp":"name"}; a missing name means Base's no-op.
type probe struct {
	sdk.Base
	req, resp func(c *sdk.Context) sdk.Action
}

func (p *probe) OnRequest(c *sdk.Context) sdk.Action {
	if p.req == nil {
		return p.Base.OnRequest(c)
	}
	return p.req(c)
}

func (p *probe) OnResponse(c *sdk.Context) sdk.Action {
	if p.resp == nil {
		return p.Base.OnResponse(c)
	}
	return p.resp(c)
}

var (
	probesMu sync.Mutex
	probes   = map[string]func(c *sdk.Context) sdk.Action{}
	builds   = map[string]int{} // factory calls by config
)

// handler registers f under a unique name and returns the name.
func handler(t *testing.T, f func(c *sdk.Context) sdk.Action) string {
	probesMu.Lock()
	defer probesMu.Unlock()
	name := fmt.Sprintf("%s#%d", t.Name(), len(probes))
	probes[name] = f
	return name
}

func init() {
	sdk.Register("probe", func(config []byte) (sdk.Policy, error) {
		var cfg struct{ Req, Resp, Fail string }
		if err := json.Unmarshal(config, &cfg); err != nil {
			return nil, err
		}
		if cfg.Fail != "" {
			return nil, errors.New(cfg.Fail)
		}
		probesMu.Lock()
		defer probesMu.Unlock()
		builds[string(config)]++
		return &probe{req: probes[cfg.Req], resp: probes[cfg.Resp]}, nil
	})
}

func onReq(t *testing.T, f func(c *sdk.Context) sdk.Action) sdktest.Option {
	return sdktest.Attach("probe", fmt.Sprintf(`{"req":%q}`, handler(t, f)))
}

func onResp(t *testing.T, f func(c *sdk.Context) sdk.Action) sdktest.Option {
	return sdktest.Attach("probe", fmt.Sprintf(`{"resp":%q}`, handler(t, f)))
}

func mustOK(t *testing.T, res *sdktest.Result) {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("unexpected failure: %v", res.Err)
	}
}

func TestRequestAccessors(t *testing.T) {
	h := sdktest.New()
	var got []string
	res := h.Do(sdktest.Request{
		Method: "POST", Path: "/pets/7?a=1&b=x%20y&b=2", Header: http.Header{"x-multi": {"1", "2"}},
		Body: []byte("hello"), Params: map[string]string{"id": "7"}, API: "pets", Operation: "getPet",
		RouteTemplate: "/pets/{id}", ClientIP: "10.0.0.9", RequestID: "r1",
	}, onReq(t, func(c *sdk.Context) sdk.Action {
		r := c.Request()
		body, err := r.Body()
		if err != nil {
			return c.Fail(err)
		}
		got = append(got, r.Method(), r.Path(), r.Query(), r.QueryParam("b"), r.QueryParam("zz"),
			r.Header().Get("X-Multi"), strings.Join(r.Header().Values("x-multi"), ","), string(body),
			c.Param("id"), c.Param("nope"), c.API(), c.Operation(), c.RouteTemplate(), c.ClientIP(),
			c.RequestID(), c.Scheme(), c.Host(), c.OriginalPath(), string(c.Stage()), string(c.Phase()))
		if err := r.SetMethod("PUT"); err != nil {
			return c.Fail(err)
		}
		if err := r.SetPath("/v2/pets/7"); err != nil {
			return c.Fail(err)
		}
		if err := r.SetQuery("q=1"); err != nil {
			return c.Fail(err)
		}
		if err := r.SetBody([]byte("changed")); err != nil {
			return c.Fail(err)
		}
		r.Header().Add("X-Multi", "3")
		r.Header().Del("X-Gone")
		return sdk.Continue
	}))
	mustOK(t, res)
	want := []string{"POST", "/pets/7", "a=1&b=x%20y&b=2", "x y", "", "1", "1,2", "hello", "7", "", "pets",
		"getPet", "/pets/{id}", "10.0.0.9", "r1", "https", "api.example.com", "/pets/7", "request", "request"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	up := res.Upstream
	if up.Method != "PUT" || up.Path != "/v2/pets/7" || up.Query != "q=1" || string(up.Body) != "changed" ||
		!slices.Equal(up.Header["X-Multi"], []string{"1", "2", "3"}) {
		t.Errorf("upstream = %+v", up)
	}
}

func TestPathPrefix(t *testing.T) {
	var path, orig string
	res := sdktest.New().Do(sdktest.Request{Path: "/petstore/v1/pets/1", PathPrefix: "/petstore/v1/"},
		onReq(t, func(c *sdk.Context) sdk.Action {
			path, orig = c.Request().Path(), c.OriginalPath()
			return sdk.Continue
		}))
	mustOK(t, res)
	if path != "/pets/1" || orig != "/petstore/v1/pets/1" || res.Upstream.Path != "/pets/1" {
		t.Errorf("path %q original %q upstream %q", path, orig, res.Upstream.Path)
	}
}

func TestResponseAccessors(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{},
		sdktest.Backend(func(u *sdktest.Upstream) sdktest.Response {
			return sdktest.Response{Status: 201, Header: http.Header{"X-B": {"b"}}, Body: []byte("created")}
		}),
		onResp(t, func(c *sdk.Context) sdk.Action {
			r := c.Response()
			b, err := r.Body()
			if err != nil || string(b) != "created" || r.Status() != 201 || r.Header().Get("X-B") != "b" {
				return c.Fail(fmt.Errorf("response = %d %q %v", r.Status(), b, err))
			}
			if err := r.SetStatus(202); err != nil {
				return c.Fail(err)
			}
			if err := r.SetBody([]byte("accepted")); err != nil {
				return c.Fail(err)
			}
			if err := r.Header().Set("X-R", "r"); err != nil {
				return c.Fail(err)
			}
			// The request can still be read, not changed.
			if c.Request().Method() != "GET" || !errors.Is(c.Request().SetPath("/x"), sdk.ErrPhase) ||
				!errors.Is(c.Request().Header().Set("X-A", "a"), sdk.ErrPhase) {
				return c.Fail(errors.New("request changes allowed in the response phase"))
			}
			if _, err := c.Request().Body(); !errors.Is(err, sdk.ErrPhase) {
				return c.Fail(fmt.Errorf("unread request body in response phase: %v", err))
			}
			return sdk.Continue
		}))
	mustOK(t, res)
	if res.Status != 202 || string(res.Body) != "accepted" || res.Header.Get("X-R") != "r" || res.Header.Get("X-B") != "b" {
		t.Errorf("result = %d %q %v", res.Status, res.Body, res.Header)
	}
}

func TestRespondEarly(t *testing.T) {
	h := sdktest.New()
	var secondRan bool
	res := h.Do(sdktest.Request{},
		onReq(t, func(c *sdk.Context) sdk.Action {
			if c.Response().Status() != 0 {
				return c.Fail(errors.New("status before answer"))
			}
			c.Response().Header().Set("Content-Type", "application/json")
			return c.Respond(418, []byte(`{"teapot":true}`))
		}),
		onReq(t, func(c *sdk.Context) sdk.Action { secondRan = true; return sdk.Continue }))
	mustOK(t, res)
	if !res.Answered || res.Status != 418 || string(res.Body) != `{"teapot":true}` ||
		res.Header.Get("Content-Type") != "application/json" || res.Upstream != nil || secondRan {
		t.Errorf("result = %+v, second ran %v", res, secondRan)
	}
}

func TestRespondInResponsePhaseFails(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{}, onResp(t, func(c *sdk.Context) sdk.Action {
		return c.Respond(503, []byte("down"))
	}))
	var f *sdktest.Failure
	if !errors.As(res.Err, &f) || f.Phase != "response" || f.Result != abi.ErrPhase || res.Status != 500 {
		t.Errorf("res = %+v", res)
	}
}

func TestRespondBadStatusFails(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		return c.Respond(99, nil)
	}))
	var f *sdktest.Failure
	if !errors.As(res.Err, &f) || res.Status != 500 || !strings.Contains(f.Message, "status 99") {
		t.Errorf("err = %v, status %d", res.Err, res.Status)
	}
}

func TestFail(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		return c.Fail(sdk.ErrUnavailable)
	}))
	var f *sdktest.Failure
	if !errors.As(res.Err, &f) || f.Result != abi.ErrUnavail || f.Phase != "request" || res.Upstream != nil || res.Status != 500 {
		t.Fatalf("res = %+v", res)
	}
	if !strings.HasPrefix(f.Message, "probe: ") {
		t.Errorf("failure log %q does not name the policy", f.Message)
	}
}

func TestBodyTooLargeFailsWith413(t *testing.T) {
	h := sdktest.New()
	h.BodyLimit = 10
	res := h.Do(sdktest.Request{Body: make([]byte, 11)}, onReq(t, func(c *sdk.Context) sdk.Action {
		_, err := c.Request().Body()
		if !errors.Is(err, sdk.ErrTooLarge) {
			t.Errorf("err = %v", err)
		}
		return c.Fail(err)
	}))
	if res.Err == nil || res.Status != 413 {
		t.Errorf("status %d err %v", res.Status, res.Err)
	}
}

// TestLargeValues exercises the buffer convention: values larger than the
// SDK's initial 2 KiB scratch buffer (and than the size it keeps) are read
// completely after a retry.
func TestLargeValues(t *testing.T) {
	for _, size := range []int{0, 1, 2047, 2048, 2049, 5000, 70000, 300000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			val := strings.Repeat("v", size)
			body := []byte(strings.Repeat("b", size))
			h := sdktest.New()
			res := h.Do(sdktest.Request{Header: http.Header{"X-Big": {val}}, Body: body,
				Params: map[string]string{"p": val}, Vars: map[string]string{"big": val[:min(size, 64<<10)]}},
				onReq(t, func(c *sdk.Context) sdk.Action {
					hd := c.Request().Header()
					if got := hd.Get("X-Big"); got != val {
						return c.Fail(fmt.Errorf("header: %d bytes", len(got)))
					}
					if vs := hd.Values("X-Big"); len(vs) != 1 || vs[0] != val {
						return c.Fail(fmt.Errorf("values: %d", len(vs)))
					}
					n := 0
					for k, v := range hd.All() {
						if k == "X-Big" && v == val {
							n++
						}
					}
					if n != 1 {
						return c.Fail(fmt.Errorf("all: %d", n))
					}
					if got := c.Param("p"); got != val {
						return c.Fail(fmt.Errorf("param: %d bytes", len(got)))
					}
					if got, ok := c.Vars().Get("big"); !ok || got != val[:min(size, 64<<10)] {
						return c.Fail(fmt.Errorf("var: %d bytes", len(got)))
					}
					b, err := c.Request().Body()
					if err != nil || string(b) != string(body) {
						return c.Fail(fmt.Errorf("body: %d bytes, %v", len(b), err))
					}
					if err := c.Cache().Set("sdk-test:big", body, time.Minute); err != nil {
						return c.Fail(err)
					}
					if got, err := c.Cache().Get("sdk-test:big"); err != nil || string(got) != string(body) {
						return c.Fail(fmt.Errorf("cache: %d bytes, %v", len(got), err))
					}
					// Another read right after must still work (the scratch
					// buffer may have been replaced).
					if c.Request().Header().Get("X-Big") != val {
						return c.Fail(errors.New("second header read"))
					}
					return sdk.Continue
				}))
			mustOK(t, res)
		})
	}
}

func TestHeaderAll(t *testing.T) {
	var pairs []string
	res := sdktest.New().Do(sdktest.Request{Header: http.Header{"B": {"2", "3"}, "a": {"1"}}},
		onReq(t, func(c *sdk.Context) sdk.Action {
			for k, v := range c.Request().Header().All() {
				pairs = append(pairs, k+"="+v)
				c.Request().Header().Set("X-During", v) // changes do not disturb iteration
			}
			for range c.Request().Header().All() {
				break
			}
			return sdk.Continue
		}))
	mustOK(t, res)
	if want := []string{"A=1", "B=2", "B=3"}; !slices.Equal(pairs, want) {
		t.Errorf("pairs = %q, want %q", pairs, want)
	}
}

func TestHeaderValidation(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{Header: http.Header{"X-Has": {""}}}, onReq(t, func(c *sdk.Context) sdk.Action {
		hd := c.Request().Header()
		for _, tc := range []struct {
			name, value string
			want        error
		}{
			{"X-Ok", "fine", nil},
			{"Bad Name", "v", sdk.ErrInvalid},
			{"", "v", sdk.ErrInvalid},
			{"X-Ok", "a\r\nInjected: 1", sdk.ErrInvalid},
			{"X-Ok", "nul\x00", sdk.ErrInvalid},
			{"Connection", "close", sdk.ErrInvalid},
			{"Content-Length", "1", sdk.ErrInvalid},
			{"Transfer-Encoding", "chunked", sdk.ErrInvalid},
		} {
			if err := hd.Set(tc.name, tc.value); !errors.Is(err, tc.want) {
				t.Errorf("Set(%q, %q) = %v, want %v", tc.name, tc.value, err, tc.want)
			}
		}
		if !hd.Has("x-has") || hd.Has("X-Not") || hd.Get("X-Not") != "" || hd.Values("X-Not") != nil {
			t.Error("Has/Get of absent or empty headers")
		}
		if err := hd.Del("X-Not"); err != nil {
			t.Errorf("Del absent = %v", err)
		}
		return sdk.Continue
	}))
	mustOK(t, res)
}

func TestSetFieldValidation(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		r := c.Request()
		for _, p := range []string{"", "x", "/..", "/a/../../b", "/a\\b", "/a\x00b", "/a\x01", "/\xff"} {
			if err := r.SetPath(p); !errors.Is(err, sdk.ErrInvalid) {
				t.Errorf("SetPath(%q) = %v", p, err)
			}
		}
		if err := r.SetPath("/a//b/./c/../d/"); err != nil || r.Path() != "/a/b/d/" {
			t.Errorf("SetPath canonicalization: %q %v", r.Path(), err)
		}
		if err := r.SetMethod("GE T"); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("SetMethod = %v", err)
		}
		if err := r.SetQuery("a=1#frag"); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("SetQuery = %v", err)
		}
		return sdk.Continue
	}))
	mustOK(t, res)
}

func TestVars(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{Vars: map[string]string{"in": "1"}},
		onReq(t, func(c *sdk.Context) sdk.Action {
			if v, ok := c.Vars().Get("in"); !ok || v != "1" {
				t.Errorf("in = %q %v", v, ok)
			}
			if _, ok := c.Vars().Get("missing"); ok {
				t.Error("missing var found")
			}
			if err := c.Vars().Set("", "x"); !errors.Is(err, sdk.ErrInvalid) {
				t.Errorf("empty name: %v", err)
			}
			if err := c.Vars().Set("huge", strings.Repeat("x", 64<<10+1)); !errors.Is(err, sdk.ErrTooLarge) {
				t.Errorf("huge value: %v", err)
			}
			c.Vars().Set("shared", "from-request")
			return sdk.Continue
		}),
		onResp(t, func(c *sdk.Context) sdk.Action {
			v, _ := c.Vars().Get("shared")
			c.Response().Header().Set("X-Shared", v)
			return sdk.Continue
		}))
	mustOK(t, res)
	if res.Header.Get("X-Shared") != "from-request" || res.Vars["shared"] != "from-request" {
		t.Errorf("header %q vars %v", res.Header.Get("X-Shared"), res.Vars)
	}
}

func TestNoHandlerFlag(t *testing.T) {
	h := sdktest.New()
	reqOnly := onReq(t, func(c *sdk.Context) sdk.Action { return sdk.Continue })
	res := h.Do(sdktest.Request{}, reqOnly)
	mustOK(t, res)
	want := []sdktest.PhaseCall{{Phase: "request", Result: abi.ActionContinue}, {Phase: "response", Result: abi.ActionContinue | abi.FlagNoHandler}}
	if !slices.Equal(res.Calls, want) {
		t.Errorf("calls = %v, want %v", res.Calls, want)
	}
	// The host then stops calling the response phase for this plan.
	res = h.Do(sdktest.Request{}, reqOnly)
	if want := want[:1]; !slices.Equal(res.Calls, want) {
		t.Errorf("second calls = %v, want %v", res.Calls, want)
	}
	// A plan in which one policy handles the phase is still called.
	res = h.Do(sdktest.Request{}, reqOnly, onResp(t, func(c *sdk.Context) sdk.Action { return sdk.Continue }))
	if len(res.Calls) != 2 || res.Calls[0].Result != abi.ActionContinue || res.Calls[1].Result != abi.ActionContinue {
		t.Errorf("mixed plan calls = %v", res.Calls)
	}
}

func TestPolicyBuiltOncePerAttachment(t *testing.T) {
	h := sdktest.New()
	name := handler(t, func(c *sdk.Context) sdk.Action { return sdk.Continue })
	cfg := fmt.Sprintf(`{"req":%q}`, name)
	for range 5 {
		mustOK(t, h.Do(sdktest.Request{}, sdktest.Attach("probe", cfg)))
	}
	probesMu.Lock()
	n := builds[cfg]
	probesMu.Unlock()
	if n != 1 {
		t.Errorf("factory called %d times, want 1", n)
	}
}

func TestConfigErrors(t *testing.T) {
	h := sdktest.New()
	for _, tc := range []struct{ policy, config, msg string }{
		{"probe", `{"fail":"boom"}`, "probe: invalid config: boom"},
		{"probe", `not json`, "probe: invalid config"},
		{"no-such-policy", `{}`, `no policy "no-such-policy"`},
	} {
		for range 2 { // the second time from the cache
			res := h.Do(sdktest.Request{}, sdktest.Attach(tc.policy, tc.config))
			var f *sdktest.Failure
			if !errors.As(res.Err, &f) || !strings.Contains(f.Message, tc.msg) || res.Upstream != nil {
				t.Errorf("%s %s: err = %v", tc.policy, tc.config, res.Err)
			}
		}
	}
}

func TestPanicTraps(t *testing.T) {
	h := sdktest.New()
	res := h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action { panic("kaboom") }))
	var trap *sdktest.Trap
	if !errors.As(res.Err, &trap) || trap.Value != "kaboom" || res.Status != 500 {
		t.Fatalf("err = %v", res.Err)
	}
	// The instance was "replaced": the next request works.
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action { return sdk.Continue })))
}

func TestStopWithoutAnswerIsAFailure(t *testing.T) {
	res := sdktest.New().Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action { return sdk.Stop }))
	if res.Err == nil || res.Upstream != nil {
		t.Errorf("err = %v", res.Err)
	}
}

func TestCounter(t *testing.T) {
	h := sdktest.New()
	now := time.Unix(1_700_000_000, 0)
	h.Now = func() time.Time { return now }
	var last sdk.CounterResult
	add := onReq(t, func(c *sdk.Context) sdk.Action {
		r, err := c.Counter("k").Add(1, 2, time.Minute, sdk.FixedWindow)
		if err != nil {
			return c.Fail(err)
		}
		last = r
		return sdk.Continue
	})
	wantReset := time.Unix(1_700_000_000/60*60+60, 0)
	for i, want := range []sdk.CounterResult{{1, wantReset, true}, {2, wantReset, true}, {2, wantReset, false}} {
		mustOK(t, h.Do(sdktest.Request{}, add))
		if !last.ResetAt.Equal(want.ResetAt) || last.Count != want.Count || last.Allowed != want.Allowed {
			t.Errorf("add %d = %+v, want %+v", i, last, want)
		}
	}
	now = now.Add(time.Minute)
	mustOK(t, h.Do(sdktest.Request{}, add))
	if last.Count != 1 || !last.Allowed {
		t.Errorf("after the window: %+v", last)
	}
	res := h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		_, err := c.Counter("k").Add(-1, 0, time.Minute, sdk.FixedWindow)
		return c.Fail(err)
	}))
	var f *sdktest.Failure
	if !errors.As(res.Err, &f) || f.Result != abi.ErrInvalid {
		t.Errorf("negative delta: %v", res.Err)
	}
}

func TestCache(t *testing.T) {
	h := sdktest.New()
	now := time.Unix(1_700_000_000, 0)
	h.Now = func() time.Time { return now }
	step := func(f func(c *sdk.Context) error) {
		t.Helper()
		mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
			if err := f(c); err != nil {
				return c.Fail(err)
			}
			return sdk.Continue
		})))
	}
	step(func(c *sdk.Context) error {
		if _, err := c.Cache().Get("sdk-test:k"); !errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("miss: %v", err)
		}
		if err := c.Cache().Set("sdk-test:k", []byte("v"), 0); !errors.Is(err, sdk.ErrInvalid) {
			return fmt.Errorf("zero ttl: %v", err)
		}
		return c.Cache().Set("sdk-test:k", []byte("v"), time.Second)
	})
	step(func(c *sdk.Context) error {
		v, err := c.Cache().Get("sdk-test:k")
		if err != nil || string(v) != "v" {
			return fmt.Errorf("hit: %q %v", v, err)
		}
		return nil
	})
	now = now.Add(time.Second)
	step(func(c *sdk.Context) error {
		if _, err := c.Cache().Get("sdk-test:k"); !errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("expired: %v", err)
		}
		c.Cache().Set("sdk-test:k", []byte("v"), time.Second)
		if err := c.Cache().Delete("sdk-test:k"); err != nil {
			return err
		}
		if _, err := c.Cache().Get("sdk-test:k"); !errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("deleted: %v", err)
		}
		return nil
	})
}

func hs256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(claims)
	msg := head + "." + enc.EncodeToString(body)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(m.Sum(nil))
}

func TestVerifyJWT(t *testing.T) {
	h := sdktest.New()
	h.JWT = jwtverify.New(jwtverify.Options{Now: func() time.Time { return h.Now() }})
	secret := strings.Repeat("s", 32)
	cfg := []byte(fmt.Sprintf(`{"algorithms":["HS256"],"issuers":["iss"],"audiences":["aud"],"hmac_secret":%q}`, secret))
	exp := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		token string
		want  error
	}{
		{hs256(t, secret, map[string]any{"iss": "iss", "aud": "aud", "exp": exp, "sub": "u1"}), nil},
		{hs256(t, secret, map[string]any{"iss": "other", "aud": "aud", "exp": exp}), sdk.ErrJWTIssuer},
		{hs256(t, secret, map[string]any{"iss": "iss", "aud": "aud", "exp": 1}), sdk.ErrJWTExpired},
		{hs256(t, strings.Repeat("x", 32), map[string]any{"iss": "iss", "aud": "aud", "exp": exp}), sdk.ErrJWTSignature},
		{"not.a.jwt", sdk.ErrJWTFormat},
	} {
		mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
			claims, err := c.VerifyJWT(tc.token, cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyJWT = %v, want %v", err, tc.want)
			}
			if tc.want != nil && !errors.Is(err, sdk.ErrJWT) {
				t.Errorf("%v is not ErrJWT", err)
			}
			if tc.want == nil && !strings.Contains(string(claims), `"sub":"u1"`) {
				t.Errorf("claims = %s", claims)
			}
			return sdk.Continue
		})))
	}
}

func TestLookupSubscription(t *testing.T) {
	h := sdktest.New()
	h.Subscriptions["key-1"] = sdktest.Subscription{ID: "sub1", State: "active", Scope: "product", Product: "starter", User: "u\"1", APIAllowed: true}
	h.Subscriptions["key-2"] = sdktest.Subscription{ID: "sub2", State: "suspended", APIAllowed: true}
	var got []sdk.Subscription
	res := h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		if c.SubscriptionID() != "" {
			t.Error("bound before lookup")
		}
		if _, err := c.LookupSubscription("nope"); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("unknown key: %v", err)
		}
		for _, k := range []string{"key-2", "key-1"} {
			s, err := c.LookupSubscription(k)
			if err != nil {
				return c.Fail(err)
			}
			got = append(got, s)
		}
		if c.SubscriptionID() != "sub1" || c.Product() != "starter" {
			t.Errorf("bound %q %q", c.SubscriptionID(), c.Product())
		}
		return sdk.Continue
	}))
	mustOK(t, res)
	if len(got) != 2 || got[0] != h.Subscriptions["key-2"] || got[1] != h.Subscriptions["key-1"] || got[1].Active() == false {
		t.Errorf("got %+v", got)
	}
	if res.SubscriptionID != "sub1" || res.Product != "starter" {
		t.Errorf("result binding %q %q", res.SubscriptionID, res.Product)
	}
	h.Subscriptions = nil
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		if _, err := c.LookupSubscription("key-1"); !errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("no catalog: %v", err)
		}
		return sdk.Continue
	})))
}

func TestLogNowRandom(t *testing.T) {
	h := sdktest.New()
	at := time.Unix(1_700_000_000, 123)
	h.Now = func() time.Time { return at }
	res := h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		if !c.Now().Equal(at) {
			t.Errorf("now = %v", c.Now())
		}
		b, err := c.Random(3000)
		if err != nil || len(b) != 3000 {
			t.Errorf("random: %d %v", len(b), err)
		}
		c.Log(sdk.LogInfo, "hello")
		c.Logf(sdk.LogWarn, "n=%d", 3)
		c.Log(sdk.LogDebug, strings.Repeat("x", 5000))
		return sdk.Continue
	}))
	mustOK(t, res)
	if len(res.Logs) != 3 || res.Logs[0] != (sdktest.Log{Level: sdk.LogInfo, Message: "probe: hello"}) ||
		res.Logs[1].Message != "probe: n=3" || len(res.Logs[2].Message) != 4096 {
		t.Errorf("logs = %.80v", res.Logs)
	}
}

func TestQueryHelpers(t *testing.T) {
	for _, tc := range []struct {
		q, name, want string
		ok            bool
	}{
		{"a=1&b=2", "b", "2", true},
		{"a=1&b=2&b=3", "b", "2", true},
		{"a", "a", "", true},
		{"a=x+y%21", "a", "x y!", true},
		{"subscription%2Dkey=k", "subscription-key", "k", true},
		{"a=1", "b", "", false},
		{"", "a", "", false},
		{"a=%zz", "a", "%zz", true},
	} {
		got, ok := sdk.LookupQuery(tc.q, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("LookupQuery(%q, %q) = %q %v", tc.q, tc.name, got, ok)
		}
	}
	for _, tc := range []struct{ q, name, want string }{
		{"a=1&key=2&b=3", "key", "a=1&b=3"},
		{"key=1&key=2", "key", ""},
		{"k%65y=1&x=2", "key", "x=2"},
		{"a=1", "key", "a=1"},
		{"keyx=1&key", "key", "keyx=1"},
	} {
		if got := sdk.DeleteQuery(tc.q, tc.name); got != tc.want {
			t.Errorf("DeleteQuery(%q, %q) = %q, want %q", tc.q, tc.name, got, tc.want)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"empty":     func() { sdk.Register("", func([]byte) (sdk.Policy, error) { return nil, nil }) },
		"nil":       func() { sdk.Register("x-nil", nil) },
		"duplicate": func() { sdk.Register("probe", func([]byte) (sdk.Policy, error) { return nil, nil }) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	if !slices.Contains(sdk.Registered(), "probe") {
		t.Errorf("Registered() = %v", sdk.Registered())
	}
}

func TestErrors(t *testing.T) {
	if !errors.Is(sdk.ErrJWTAudience, sdk.ErrJWT) || errors.Is(sdk.ErrNotFound, sdk.ErrJWT) {
		t.Error("ErrJWT family")
	}
	if sdk.ErrNotFound.Error() != "gatehouse: not found" {
		t.Errorf("text %q", sdk.ErrNotFound.Error())
	}
	if sdk.Continue.String() != "continue" || sdk.Stop.String() != "stop" {
		t.Error("Action.String")
	}
}

func TestParallelHosts(t *testing.T) {
	f := onReq(t, func(c *sdk.Context) sdk.Action {
		c.Request().Header().Set("X-Id", c.RequestID())
		return sdk.Continue
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sdktest.New()
			for j := range 50 {
				id := fmt.Sprintf("%d-%d", i, j)
				res := h.Do(sdktest.Request{RequestID: id}, f)
				if res.Err != nil || res.Upstream.Header.Get("X-Id") != id {
					t.Errorf("%s: %v %v", id, res.Err, res.Upstream)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestAcquireConcurrency(t *testing.T) {
	h := sdktest.New()
	// The policy here is "probe": keys are "probe:<key>".
	release, ok := h.HoldConcurrency("probe:k", 3)
	if !ok {
		t.Fatal("hold")
	}
	defer release()
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		for i, want := range []bool{true, true, false} {
			if got, err := c.AcquireConcurrency([]byte("k"), 3); got != want || err != nil {
				t.Errorf("acquire %d: %v %v, want %v", i, got, err, want)
			}
		}
		if h.InFlight("probe:k") != 3 {
			t.Errorf("in flight %d during the call", h.InFlight("probe:k"))
		}
		if _, err := c.AcquireConcurrency(nil, 1); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("empty key: %v", err)
		}
		if _, err := c.AcquireConcurrency([]byte("k"), 0); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("limit 0: %v", err)
		}
		if _, err := c.AcquireConcurrency([]byte(strings.Repeat("k", 600)), 1); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("long key: %v", err)
		}
		return sdk.Continue
	})))
	if n := h.InFlight("probe:k"); n != 1 {
		t.Errorf("after the request: %d in flight, want the 1 held", n)
	}
	h.Semaphores = nil
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		if _, err := c.AcquireConcurrency([]byte("k"), 1); !errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("no semaphores: %v", err)
		}
		return sdk.Continue
	})))
}

func TestCacheFillLease(t *testing.T) {
	h := sdktest.New()
	// Free: held by this request, ended when it stores the key.
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		held, err := c.Cache().FillLease("k", time.Second)
		if !held || err != nil {
			t.Errorf("free lease: %v %v", held, err)
		}
		if held, err := c.Cache().FillLease("k", time.Second); !held || err != nil {
			t.Errorf("again: %v %v", held, err)
		}
		if _, err := c.Cache().FillLease("", time.Second); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("empty key: %v", err)
		}
		if _, err := c.Cache().FillLease("k", 31*time.Second); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("long wait: %v", err)
		}
		if !h.Leases.Held("k", h.Now()) {
			t.Error("not held during the call")
		}
		if err := c.Cache().Set("k", []byte("v"), time.Minute); err != nil {
			t.Error(err)
		}
		if h.Leases.Held("k", h.Now()) {
			t.Error("still held after the store")
		}
		return sdk.Continue
	})))
	// Held elsewhere: busy, the plan ends after this policy, and the host
	// re-runs the request phase after the holder ends (here: stores and
	// releases while the request waits).
	release, ok := h.HoldFillLease("j")
	if !ok {
		t.Fatal("hold")
	}
	runs, after := 0, 0
	go func() {
		time.Sleep(50 * time.Millisecond)
		h.Cache.Set("j", []byte("filled"), time.Minute, h.Now())
		release()
	}()
	res := h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		runs++
		if v, err := c.Cache().Get("j"); err == nil {
			return c.Respond(200, v)
		}
		held, err := c.Cache().FillLease("j", 5*time.Second)
		if held || err != nil {
			t.Errorf("busy lease: %v %v", held, err)
		}
		return sdk.Continue
	}), onReq(t, func(c *sdk.Context) sdk.Action { after++; return sdk.Continue }))
	mustOK(t, res)
	if runs != 2 || after != 0 || !res.Answered || string(res.Body) != "filled" {
		t.Errorf("runs %d, after %d, answered %v %q", runs, after, res.Answered, res.Body)
	}
	// The holder failed (no store): the waiter's second run finds it free
	// or, if still held, ErrUnavailable (never a second wait).
	release, _ = h.HoldFillLease("m")
	defer release()
	var statuses []string
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		held, err := c.Cache().FillLease("m", 20*time.Millisecond)
		statuses = append(statuses, fmt.Sprint(held, err))
		return sdk.Continue
	})))
	if strings.Join(statuses, "|") != "false <nil>|false "+sdk.ErrUnavailable.Error() {
		t.Errorf("statuses %q", statuses)
	}
	h.Leases = nil
	mustOK(t, h.Do(sdktest.Request{}, onReq(t, func(c *sdk.Context) sdk.Action {
		if _, err := c.Cache().FillLease("k", time.Second); !errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("no leases: %v", err)
		}
		return sdk.Continue
	})))
}
