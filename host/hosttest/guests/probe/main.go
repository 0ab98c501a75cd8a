//go:build wasip1

// Command probe is a raw-ABI test guest (no SDK) whose behaviour is chosen by
// its attachment config, a plain string: it exercises the host's happy paths
// and, on purpose, every way a guest can misbehave.
package main

import (
	"os"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport gatehouse_v1 get_attachment
func getAttachment(ctx, att, item uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_plan
func getPlan(ctx, plan uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_field
func getField(ctx uint32, field int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_field
func setField(ctx uint32, field int32, p unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 set_header
func setHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 get_header
func getHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 send_response
func sendResponse(ctx uint32, code int32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport gatehouse_v1 concurrency_acquire
func concurrencyAcquire(ctx uint32, key unsafe.Pointer, keyLen uint32, limit int64) int32

//go:wasmimport gatehouse_v1 cache_fill_lease
func cacheFillLease(ctx uint32, key unsafe.Pointer, keyLen uint32, waitMs int64) int32

//go:wasmimport gatehouse_v1 cache_set
func cacheSet(ctx uint32, key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlMs int64) int32

//go:wasmimport gatehouse_v1 get_var
func getVar(ctx uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_var
func setVar(ctx uint32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 set_body
func setBody(ctx uint32, kind int32, p unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 get_body
func getBody(ctx uint32, kind int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_status
func setStatus(ctx uint32, code int32) int32

//go:wasmimport gatehouse_v1 get_param
func getParam(ctx uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 now
func now() int64

var scratch [64 << 10]byte
var sink [][]byte

func ptr(s string) (unsafe.Pointer, uint32) {
	if len(s) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func str(n int32) string { return string(scratch[:n]) }

func attachments(ctx, plan uint32) []uint32 {
	n := getPlan(ctx, plan, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	var ids []uint32
	for i := int32(0); i+4 <= n; i += 4 {
		ids = append(ids, uint32(scratch[i])|uint32(scratch[i+1])<<8|uint32(scratch[i+2])<<16|uint32(scratch[i+3])<<24)
	}
	return ids
}

func config(ctx, att uint32) string {
	n := getAttachment(ctx, att, 1, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	if n < 0 {
		return ""
	}
	s := str(n)
	// The gateway passes JSON; the probe's config is a JSON string.
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

func setH(ctx uint32, kind int32, name, val string) int32 {
	np, nl := ptr(name)
	vp, vl := ptr(val)
	return setHeader(ctx, kind, np, nl, vp, vl)
}

// run executes one command; commands are separated by ';' in the config, e.g.
// "req-header:X-A=1;respond:401=denied".
func run(ctx uint32, phase string, cmd string) int32 {
	op, arg, _ := strings.Cut(cmd, ":")
	switch op {
	case "continue", "":
		return 0
	case "fail":
		return -1
	case "req-header": // in request phase
		if phase != "request" {
			return 0
		}
		k, v, _ := strings.Cut(arg, "=")
		if st := setH(ctx, 0, k, v); st != 0 {
			return st
		}
	case "resp-header":
		if phase != "response" && phase != "request" {
			return 0
		}
		k, v, _ := strings.Cut(arg, "=")
		setH(ctx, 1, k, v)
	case "append-header": // response phase: X-Order += arg
		if phase != "response" {
			return 0
		}
		name := "X-Order"
		np, nl := ptr(name)
		n := getHeader(ctx, 1, np, nl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		cur := ""
		if n > 0 {
			cur = str(n) + ","
		}
		setH(ctx, 1, name, cur+arg)
	case "order": // request phase: X-Order request header += arg
		if phase != "request" {
			return 0
		}
		name := "X-Order"
		np, nl := ptr(name)
		n := getHeader(ctx, 0, np, nl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		cur := ""
		if n > 0 {
			cur = str(n) + ","
		}
		setH(ctx, 0, name, cur+arg)
	case "acquire": // acquire:key=limit (request phase) — a concurrency slot; full: answer 429 "busy"; other statuses fail the call
		if phase == "response" {
			return 0
		}
		key, lim, _ := strings.Cut(arg, "=")
		l, _ := strconv.ParseInt(lim, 10, 64)
		kp, kl := ptr(key)
		switch st := concurrencyAcquire(ctx, kp, kl, l); {
		case st == -6:
			bp, bl := ptr("busy")
			sendResponse(ctx, 429, bp, bl)
			return 1
		case st != 0:
			return st
		}
	case "lease": // lease:key=wait_ms (request phase) — cache_fill_lease; the status goes to the variable "lease"
		if phase == "response" {
			return 0
		}
		key, w, _ := strings.Cut(arg, "=")
		wait, _ := strconv.ParseInt(w, 10, 64)
		kp, kl := ptr(key)
		st := cacheFillLease(ctx, kp, kl, wait)
		np, nl := ptr("lease")
		vp, vl := ptr(strconv.Itoa(int(st)))
		setVar(ctx, np, nl, vp, vl)
	case "store": // store:key=value — cache_set for a minute
		key, val, _ := strings.Cut(arg, "=")
		kp, kl := ptr(key)
		vp, vl := ptr(val)
		if st := cacheSet(ctx, kp, kl, vp, vl, 60000); st != 0 {
			return st
		}
	case "respond":
		if phase == "response" {
			return 0
		}
		code, body, _ := strings.Cut(arg, "=")
		c, _ := strconv.Atoi(code)
		bp, bl := ptr(body)
		if st := sendResponse(ctx, int32(c), bp, bl); st != 0 {
			return st
		}
		return 1
	case "status":
		if phase != "response" {
			return 0
		}
		c, _ := strconv.Atoi(arg)
		setStatus(ctx, int32(c))
	case "resp-body-upper":
		if phase != "response" {
			return 0
		}
		n := getBody(ctx, 1, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		if n < 0 {
			return n
		}
		b := []byte(strings.ToUpper(str(n)))
		setBody(ctx, 1, unsafe.Pointer(&b[0]), uint32(len(b)))
	case "set-var":
		k, v, _ := strings.Cut(arg, "=")
		kp, kl := ptr(k)
		vp, vl := ptr(v)
		setVar(ctx, kp, kl, vp, vl)
	case "var-to-header": // copies variable arg into request header X-Var-<arg>
		kp, kl := ptr(arg)
		n := getVar(ctx, kp, kl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		if n >= 0 && phase == "request" {
			setH(ctx, 0, "X-Var-"+arg, str(n))
		}
	case "param-to-header":
		kp, kl := ptr(arg)
		n := getParam(ctx, kp, kl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		if n >= 0 && phase == "request" {
			setH(ctx, 0, "X-Param-"+arg, str(n))
		}
	case "loop":
		if phase != "request" && arg != "any" {
			return 0
		}
		for {
		}
	case "sleep-ms": // busy wait on the real clock
		ms, _ := strconv.Atoi(arg)
		end := now() + int64(ms)*1e6
		for now() < end {
		}
	case "panic":
		panic("probe: deliberate panic")
	case "membomb":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "grow": // grow by arg MiB and keep it
		n, _ := strconv.Atoi(arg)
		sink = append(sink, make([]byte, n<<20))
	case "set-field": // set-field:N=value (request and error phases); a failure fails the call with the status
		if phase == "response" {
			return 0
		}
		n, v, _ := strings.Cut(arg, "=")
		f, _ := strconv.Atoi(n)
		vp, vl := ptr(v)
		if st := setField(ctx, int32(f), vp, vl); st != 0 {
			return st
		}
	case "field-to-header": // request phase: request header X-Field-N = field N
		if phase != "request" {
			return 0
		}
		f, _ := strconv.Atoi(arg)
		n := getField(ctx, int32(f), unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		if n < 0 {
			setH(ctx, 0, "X-Field-"+arg, "status "+strconv.Itoa(int(n)))
		} else {
			setH(ctx, 0, "X-Field-"+arg, str(n))
		}
	case "badptr":
		getFieldRaw(ctx, 1, 0xfffffff0, 64)
	case "badhandle":
		getField(ctx^0x5a5a5, 1, unsafe.Pointer(&scratch[0]), 64)
	case "raw": // raw:FN:a:b:c:d:e:f — a host call with raw arguments (fuzzing)
		return raw(ctx, arg)
	case "exit":
		os.Exit(3)
	case "print":
		println("probe says", arg)
	}
	return 0
}

//go:wasmimport gatehouse_v1 get_headers
func getHeadersRaw(ctx uint32, kind int32, buf uint32, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_header
func getHeaderRaw(ctx uint32, kind int32, name uint32, nameLen uint32, buf uint32, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_header
func setHeaderRaw(ctx uint32, kind int32, name uint32, nameLen uint32, val uint32, valLen uint32) int32

//go:wasmimport gatehouse_v1 get_field
func getFieldRaw(ctx uint32, field int32, buf uint32, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_field
func setFieldRaw(ctx uint32, field int32, p uint32, n uint32) int32

//go:wasmimport gatehouse_v1 set_var
func setVarRaw(ctx uint32, name uint32, nameLen uint32, val uint32, valLen uint32) int32

//go:wasmimport gatehouse_v1 get_body
func getBodyRaw(ctx uint32, kind int32, buf uint32, capacity uint32) int32

//go:wasmimport gatehouse_v1 send_response
func sendResponseRaw(ctx uint32, code int32, body uint32, bodyLen uint32) int32

//go:wasmimport gatehouse_v1 counter_add
func counterAddRaw(ctx uint32, key uint32, keyLen uint32, delta, limit, windowMs int64, mode int32, out uint32) int32

//go:wasmimport gatehouse_v1 cache_set
func cacheSetRaw(ctx uint32, key uint32, keyLen uint32, val uint32, valLen uint32, ttl int64) int32

//go:wasmimport gatehouse_v1 get_attachment
func getAttachmentRaw(ctx uint32, att uint32, item int32, buf uint32, capacity uint32) int32

//go:wasmimport gatehouse_v1 log
func logRaw(ctx uint32, level int32, msg uint32, n uint32) int32

// raw calls host function number fn with the given arguments. Argument
// value 0xFFFFFFFF in position 0 means "use the real ctx"; small values in
// pointer positions are offsets into the scratch buffer so some calls are
// in range.
func raw(ctx uint32, arg string) int32 {
	parts := strings.Split(arg, ":")
	var a [7]uint32
	for i := 0; i < len(parts) && i < 7; i++ {
		v, _ := strconv.ParseUint(parts[i], 10, 64)
		a[i] = uint32(v)
	}
	base := uint32(uintptr(unsafe.Pointer(&scratch[0])))
	ptr := func(v uint32) uint32 {
		if v < 1<<16 {
			return base + v
		}
		return v
	}
	c := a[1]
	if c == 0xFFFFFFFF {
		c = ctx
	}
	switch a[0] % 12 {
	case 0:
		return getHeadersRaw(c, int32(a[2]), ptr(a[3]), a[4])
	case 1:
		return getHeaderRaw(c, int32(a[2]), ptr(a[3]), a[4], ptr(a[5]), a[6])
	case 2:
		return setHeaderRaw(c, int32(a[2]), ptr(a[3]), a[4], ptr(a[5]), a[6])
	case 3:
		return getFieldRaw(c, int32(a[2]), ptr(a[3]), a[4])
	case 4:
		return setFieldRaw(c, int32(a[2]), ptr(a[3]), a[4])
	case 5:
		return setVarRaw(c, ptr(a[2]), a[3], ptr(a[4]), a[5])
	case 6:
		return getBodyRaw(c, int32(a[2]), ptr(a[3]), a[4])
	case 7:
		return sendResponseRaw(c, int32(a[2]), ptr(a[3]), a[4])
	case 8:
		return counterAddRaw(c, ptr(a[2]), a[3], int64(a[4]), int64(a[5]), int64(a[6]), int32(a[2]), ptr(a[6]))
	case 9:
		return cacheSetRaw(c, ptr(a[2]), a[3], ptr(a[4]), a[5], int64(a[6]))
	case 10:
		return getAttachmentRaw(c, a[2], int32(a[3]), ptr(a[4]), a[5])
	default:
		return logRaw(c, int32(a[2]), ptr(a[3]), a[4])
	}
}

func phaseOf(ctx uint32) string {
	n := getField(ctx, 14, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	return str(n)
}

func dispatch(ctx, plan uint32) int32 {
	phase := phaseOf(ctx)
	for _, att := range attachments(ctx, plan) {
		for _, cmd := range strings.Split(config(ctx, att), ";") {
			if r := run(ctx, phase, cmd); r != 0 {
				return r
			}
		}
	}
	return 0
}

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 0 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return dispatch(ctx, plan) }

//go:wasmexport on_response
func onResponse(ctx, plan uint32) int32 { return dispatch(ctx, plan) }

func main() {}
