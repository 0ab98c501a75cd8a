package forwardrequest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/forwardrequest"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(forwardrequest.Name, forwardrequest.New) }

func TestForwardRequest(t *testing.T) {
	h := sdktest.New()
	for _, tc := range []struct {
		config  string
		timeout time.Duration
		follow  bool
	}{
		{`{}`, 30 * time.Second, false},
		{`{"timeout":5}`, 5 * time.Second, false},
		{`{"timeout_ms":1500,"follow_redirects":true}`, 1500 * time.Millisecond, true},
		{`{"buffer_request_body":true}`, 30 * time.Second, false},
	} {
		res := h.Do(sdktest.Request{Method: "POST", Body: []byte("payload")}, sdktest.Attach(forwardrequest.Name, tc.config))
		if res.Err != nil {
			t.Fatalf("%s: %v", tc.config, res.Err)
		}
		if u := res.Upstream; u.Timeout != tc.timeout || u.FollowRedirects != tc.follow || string(u.Body) != "payload" {
			t.Errorf("%s: upstream timeout %v follow %v body %q", tc.config, u.Timeout, u.FollowRedirects, u.Body)
		}
	}
}

func TestBufferOverLimit(t *testing.T) {
	h := sdktest.New()
	h.BodyLimit = 4
	res := h.Do(sdktest.Request{Method: "POST", Body: []byte("too long")}, sdktest.Attach(forwardrequest.Name, `{"buffer_request_body":true}`))
	if res.Err == nil || res.Status != 413 {
		t.Errorf("status %d err %v", res.Status, res.Err)
	}
}

// The timeout is visible to later policies (Context.Backend().Timeout).
func TestTimeoutVisible(t *testing.T) {
	sdk.Register("probe-timeout", func([]byte) (sdk.Policy, error) { return probe{}, nil })
	res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(forwardrequest.Name, `{"timeout":7}`), sdktest.Attach("probe-timeout", ""))
	if res.Err != nil || res.Upstream.Header.Get("X-Timeout") != "7s" {
		t.Errorf("err %v, header %q", res.Err, res.Upstream.Header.Get("X-Timeout"))
	}
}

type probe struct{ sdk.Base }

func (probe) OnRequest(c *sdk.Context) sdk.Action {
	_ = c.Request().Header().Set("X-Timeout", c.Backend().Timeout().String())
	return sdk.Continue
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"timeout":0}`, "timeout must be 1 to 600"},
		{`{"timeout":601}`, "timeout must be 1 to 600"},
		{`{"timeout_ms":0}`, "timeout_ms must be 1 to 600000"},
		{`{"timeout":1,"timeout_ms":1}`, "not both"},
		{`{"timeout":"5"}`, `field "timeout": expected a number`},
		{`{"http_version":"2"}`, `unknown field "http_version"`},
	} {
		_, err := forwardrequest.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}
