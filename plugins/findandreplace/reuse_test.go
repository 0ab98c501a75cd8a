package findandreplace_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/findandreplace"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// TestBuffersReused: the policy keeps its body and result buffers between
// calls; a shorter body after a longer one, a body without a match after
// one with, and a body over 64 KiB (buffers dropped) all come out right,
// and the size in the error over max_body_bytes is the full result's.
func TestBuffersReused(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(findandreplace.Name, `{"from":"ab","to":"XYZ","max_body_bytes":200000}`)
	for i, in := range []string{
		strings.Repeat("ab-", 300), "ab", "none here", "x" + strings.Repeat("ab", 40000), "cab", strings.Repeat("-", 1000), "abab",
	} {
		res := h.Do(sdktest.Request{Method: "POST", Body: []byte(in)}, att)
		if want := strings.ReplaceAll(in, "ab", "XYZ"); res.Err != nil || string(res.Upstream.Body) != want {
			t.Fatalf("body %d: err %v, got %.60q (%d bytes), want %.60q (%d bytes)", i, res.Err, res.Upstream.Body, len(res.Upstream.Body), want, len(want))
		}
	}
	in := strings.Repeat("ab", 80000) // 160000 bytes → 240000
	res := h.Do(sdktest.Request{Method: "POST", Body: []byte(in)}, att)
	if res.Err == nil || !strings.Contains(res.Err.Error(), fmt.Sprintf("after replacing (%d bytes)", 240000)) {
		t.Fatalf("over max: %v", res.Err)
	}
	res = h.Do(sdktest.Request{Method: "POST", Body: []byte("ab")}, att)
	if res.Err != nil || string(res.Upstream.Body) != "XYZ" {
		t.Fatalf("after the failure: %v %q", res.Err, res.Upstream.Body)
	}
}
