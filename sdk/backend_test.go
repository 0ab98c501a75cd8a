package sdk_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

type backendProbe struct {
	sdk.Base
	t   *testing.T
	got *[]string
}

func (p backendProbe) OnRequest(c *sdk.Context) sdk.Action {
	b := c.Backend()
	*p.got = append(*p.got, b.URL(), b.Timeout().String(), b.RetrySpec())
	if err := b.SetURL("https://other.example.com/v2"); err != nil {
		p.t.Errorf("SetURL: %v", err)
	}
	if err := b.SetURL("http://169.254.169.254/"); !errors.Is(err, sdk.ErrInvalid) {
		p.t.Errorf("SetURL(metadata) = %v", err)
	}
	if err := b.SetTimeout(time.Microsecond); !errors.Is(err, sdk.ErrInvalid) {
		p.t.Errorf("SetTimeout(1µs) = %v", err)
	}
	if err := b.SetTimeout(2500 * time.Millisecond); err != nil {
		p.t.Errorf("SetTimeout: %v", err)
	}
	if err := b.SetRetry(sdk.Retry{Count: 2, Interval: 10 * time.Millisecond, Statuses: []int{503}}); err != nil {
		p.t.Errorf("SetRetry: %v", err)
	}
	if err := b.SetRetry(sdk.Retry{Count: 2}); !errors.Is(err, sdk.ErrInvalid) {
		p.t.Errorf("SetRetry without condition = %v", err)
	}
	*p.got = append(*p.got, b.URL(), b.Timeout().String(), b.RetrySpec())
	return sdk.Continue
}

func (p backendProbe) OnResponse(c *sdk.Context) sdk.Action {
	if err := c.Backend().SetURL("https://x.example.com"); !errors.Is(err, sdk.ErrPhase) {
		p.t.Errorf("SetURL in the response phase = %v", err)
	}
	return sdk.Continue
}

func TestBackendAccessors(t *testing.T) {
	var got []string
	sdk.Register("backend-probe", func([]byte) (sdk.Policy, error) { return backendProbe{t: t, got: &got}, nil })
	res := sdktest.New().Do(sdktest.Request{Backend: "https://api.example.com"}, sdktest.Attach("backend-probe", ""))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"https://api.example.com", "30s", "",
		"https://other.example.com/v2", "2.5s", `{"count":2,"interval_ms":10,"statuses":[503]}`}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if u := res.Upstream; u.BackendURL != "https://other.example.com/v2" || u.Timeout != 2500*time.Millisecond {
		t.Errorf("upstream %+v", u)
	}
}
