// Package guest is the conformance guest of the ABI conformance kit
// (abi/conformance): a raw-ABI policy, without the SDK's dispatcher, that
// runs the case its attachment config names ({"case":"<name>"}) and writes
// what each host call returned to a request variable, one "label=result"
// line per call. The same code runs as Wasm in the gateway
// (sdk/conformance/module, GOOS=wasip1 -buildmode=c-shared) and natively in
// the emulator (sdk/sdktest, after Install).
//
// A result is a status or a length (the number), followed, when the call
// returned bytes that fit, by a colon and the bytes Go-quoted; every such
// read is repeated with a buffer of exactly the length, and a host that
// then answers otherwise gets " exact-fit:<result>" appended.
package guest

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Phases as the entry points are called.
const (
	PhaseRequest  = 1
	PhaseResponse = 2
)

// Install makes the emulator's guest entry points run this guest instead of
// the SDK's dispatcher; the returned func restores them. Not for Wasm (the
// module's exports call Entry).
func Install() (restore func()) {
	oldReq, oldResp := imports.Guest.OnRequest, imports.Guest.OnResponse
	imports.Guest.OnRequest = func(ctx, plan uint32) int32 { return Entry(PhaseRequest, ctx, plan) }
	imports.Guest.OnResponse = func(ctx, plan uint32) int32 { return Entry(PhaseResponse, ctx, plan) }
	return func() { imports.Guest.OnRequest, imports.Guest.OnResponse = oldReq, oldResp }
}

// report is one phase's report.
type report struct {
	b   strings.Builder
	ctx uint32
}

func (r *report) line(label, v string) {
	if r.b.Len() > 0 {
		r.b.WriteByte('\n')
	}
	r.b.WriteString(label)
	r.b.WriteByte('=')
	r.b.WriteString(v)
}

// st records a status.
func (r *report) st(label string, s int32) { r.line(label, strconv.Itoa(int(s))) }

// read calls f with a buffer of capacity c and records the result and, when
// the bytes fit, the bytes.
func (r *report) read(label string, c int, f func(buf []byte) int32) {
	buf := make([]byte, c)
	n := f(buf)
	v := strconv.Itoa(int(n))
	if n >= 0 && int(n) <= c {
		v += ":" + strconv.Quote(string(buf[:n]))
		if n > 0 && int(n) < c {
			// The buffer convention's edge: a buffer of exactly n bytes
			// holds the value (§4). A host that gets it wrong shows it.
			exact := make([]byte, n)
			if m := f(exact); m != n || string(exact) != string(buf[:n]) {
				v += " exact-fit:" + strconv.Itoa(int(m))
			}
		}
	}
	r.line(label, v)
}

func b(s string) []byte { return []byte(s) }

// Entry runs the case of the plan's first attachment in phase and returns
// the action (or -1 when the plan or config cannot be read: a broken host).
func Entry(phase int, ctx, plan uint32) int32 {
	var pb [64]byte
	n := imports.GetPlan(ctx, plan, pb[:])
	if n < 4 || n > 64 {
		return -1
	}
	att := binary.LittleEndian.Uint32(pb[:4])
	cfg := make([]byte, 256)
	n = imports.GetAttachment(ctx, att, abi.AttachConfig, cfg)
	if n < 0 || int(n) > len(cfg) {
		return -1
	}
	name := caseName(string(cfg[:n]))
	c, ok := cases[name]
	if !ok {
		return -1
	}
	r := &report{ctx: ctx}
	action := abi.ActionContinue
	v := "conformance.request"
	if phase == PhaseRequest {
		if c.req != nil {
			action = c.req(r, plan, att)
		}
	} else {
		v = "conformance.response"
		if c.resp != nil {
			c.resp(r, plan, att)
		}
	}
	if r.b.Len() > 0 {
		if st := imports.SetVar(ctx, b(v), b(r.b.String())); st != abi.OK {
			return -1
		}
	}
	return action
}

// caseName takes the case name out of {"case":"name"} (names are plain).
func caseName(cfg string) string {
	const k = `"case":"`
	i := strings.Index(cfg, k)
	if i < 0 {
		return ""
	}
	rest := cfg[i+len(k):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

type guestCase struct {
	req  func(r *report, plan, att uint32) int32
	resp func(r *report, plan, att uint32)
}
