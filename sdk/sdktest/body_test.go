package sdktest

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestBodyConvertStatuses: the emulator's body_convert answers what
// abi/body.go specifies (the host's, plugins/builtin's
// TestBodyConvertThroughHost).
func TestBodyConvertStatuses(t *testing.T) {
	h := New()
	req := func(body string) *exchange {
		return newX(t, h, phaseRequest, Request{Method: "POST", Body: []byte(body)})
	}
	j, x := abi.ConvertJSONToXML, abi.ConvertXMLToJSON
	small := make([]byte, 4)
	for _, c := range []struct {
		name                   string
		x                      *exchange
		kind, conv, flags, max int32
		buf                    []byte
		want                   int32
	}{
		{"converted", req(`{"a":1}`), abi.KindRequest, j, abi.ConvertParseDate, 1000, nil, abi.OK},
		{"xml converted", req(`<a/>`), abi.KindRequest, x, abi.ConvertDirect | abi.ConvertAlwaysArray, 1000, nil, abi.OK},
		{"empty", req(" \n"), abi.KindRequest, j, 0, 1000, nil, abi.ErrNotFound},
		{"input over max", req(`{"a":1}`), abi.KindRequest, j, 0, 3, nil, abi.ErrTooLarge},
		{"result over max", req(`{"a":1}`), abi.KindRequest, j, 0, 20, nil, abi.ErrTooLarge},
		{"response kind in the request phase", req(`{}`), abi.KindResponse, j, 0, 1000, nil, abi.ErrPhase},
		{"unknown kind", req(`{}`), 9, j, 0, 1000, nil, abi.ErrInvalid},
		{"unknown conversion", req(`{}`), abi.KindRequest, 3, 0, 1000, nil, abi.ErrInvalid},
		{"xml flag on json", req(`{}`), abi.KindRequest, j, abi.ConvertDirect, 1000, nil, abi.ErrInvalid},
		{"unknown flag", req(`<a/>`), abi.KindRequest, x, 1 << 9, 1000, nil, abi.ErrInvalid},
		{"max 0", req(`{}`), abi.KindRequest, j, 0, 0, nil, abi.ErrInvalid},
		{"invalid, buffer too small: the message's length", req(`{`), abi.KindRequest, j, 0, 1000, small, int32(len("unexpected end of JSON input"))},
	} {
		if got := c.x.BodyConvert(7, c.kind, c.conv, c.flags, c.max, c.buf); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	x1 := req(`{"a":`)
	buf := make([]byte, 100)
	n := x1.BodyConvert(7, abi.KindRequest, j, 0, 1000, buf)
	if n <= 0 || string(buf[:n]) != "unexpected end of JSON input" || string(x1.ex.ReqBody.Bytes) != `{"a":` {
		t.Errorf("invalid: %d %q, body %q", n, buf[:max(n, 0)], x1.ex.ReqBody.Bytes)
	}
	x2 := req(`{"a":1}`)
	if st := x2.BodyConvert(7, abi.KindRequest, j, 0, 1000, nil); st != abi.OK || !strings.HasSuffix(string(x2.ex.ReqBody.Bytes), "<Document><a>1</a></Document>") {
		t.Errorf("converted: %d %q", st, x2.ex.ReqBody.Bytes)
	}
	resp := newX(t, h, phaseResponse, Request{})
	resp.ex.RespBody.Set([]byte(`<a>1</a>`))
	if st := resp.BodyConvert(7, abi.KindResponse, x, 0, 1000, nil); st != abi.OK || string(resp.ex.RespBody.Bytes) != `{"a":"1"}` {
		t.Errorf("response: %d %q", st, resp.ex.RespBody.Bytes)
	}
	if st := resp.BodyConvert(7, abi.KindRequest, j, 0, 1000, nil); st != abi.ErrPhase {
		t.Errorf("request kind in the response phase: %d", st)
	}
}
