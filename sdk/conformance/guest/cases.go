package guest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

const cont = abi.ActionContinue

func getField(r *report, label string, f int32) {
	r.read(label, 256, func(buf []byte) int32 { return imports.GetField(r.ctx, f, buf) })
}

func getHeader(r *report, label string, kind int32, name string) {
	r.read(label, 256, func(buf []byte) int32 { return imports.GetHeader(r.ctx, kind, b(name), buf) })
}

// cases are the guest halves of abi/conformance.Cases, by name.
var cases = map[string]guestCase{
	"config": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		var pb [8]byte
		n := imports.GetPlan(x, plan, pb[:])
		r.line("get_plan", strconv.Itoa(int(n))+":first-is-attachment="+strconv.FormatBool(n >= 4 && binary.LittleEndian.Uint32(pb[:4]) == att))
		r.st("get_plan.cap0", imports.GetPlan(x, plan, nil))
		r.st("get_plan.unknown", imports.GetPlan(x, 0xfffffff0, pb[:]))
		r.read("get_attachment.config", 256, func(buf []byte) int32 { return imports.GetAttachment(x, att, abi.AttachConfig, buf) })
		r.read("get_attachment.config.cap3", 3, func(buf []byte) int32 { return imports.GetAttachment(x, att, abi.AttachConfig, buf) })
		r.st("get_attachment.item9", imports.GetAttachment(x, att, 9, pb[:]))
		r.st("get_attachment.unknown", imports.GetAttachment(x, 0xfffffff0, abi.AttachConfig, pb[:]))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.read("get_attachment.config", 256, func(buf []byte) int32 { return imports.GetAttachment(r.ctx, att, abi.AttachConfig, buf) })
	}},

	"fields": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		getField(r, "method", abi.FieldMethod)
		getField(r, "path", abi.FieldPath)
		getField(r, "query", abi.FieldQuery)
		getField(r, "client_ip", abi.FieldClientIP)
		getField(r, "request_id", abi.FieldRequestID)
		getField(r, "api", abi.FieldAPI)
		getField(r, "route_template", abi.FieldRouteTemplate)
		getField(r, "phase", abi.FieldPhase)
		getField(r, "subscription", abi.FieldSubscription)
		r.read("method.cap1", 1, func(buf []byte) int32 { return imports.GetField(x, abi.FieldMethod, buf) })
		getField(r, "field99", 99)
		getField(r, "field0", 0)
		r.st("set.method", imports.SetField(x, abi.FieldMethod, b("POST")))
		getField(r, "method.after", abi.FieldMethod)
		r.st("set.method.space", imports.SetField(x, abi.FieldMethod, b("BAD METHOD")))
		r.st("set.method.33", imports.SetField(x, abi.FieldMethod, b(strings.Repeat("M", 33))))
		r.st("set.path", imports.SetField(x, abi.FieldPath, b("/a/./b")))
		getField(r, "path.after", abi.FieldPath)
		r.st("set.path.above-root", imports.SetField(x, abi.FieldPath, b("/a/../../x")))
		r.st("set.query", imports.SetField(x, abi.FieldQuery, b("b=2")))
		r.st("set.query.space", imports.SetField(x, abi.FieldQuery, b("a b")))
		r.st("set.client_ip", imports.SetField(x, abi.FieldClientIP, b("10.0.0.1")))
		r.st("set.field99", imports.SetField(x, 99, b("x")))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		getField(r, "phase", abi.FieldPhase)
		getField(r, "method", abi.FieldMethod)
		r.st("set.method", imports.SetField(r.ctx, abi.FieldMethod, b("GET")))
	}},

	"backend": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.st("set.url", imports.SetField(x, abi.FieldBackendURL, b("https://other.example.com/v2")))
		getField(r, "url", abi.FieldBackendURL)
		r.st("set.url.loopback", imports.SetField(x, abi.FieldBackendURL, b("http://127.0.0.1:9/")))
		r.st("set.url.query", imports.SetField(x, abi.FieldBackendURL, b("https://other.example.com/?a=1")))
		r.st("set.url.ftp", imports.SetField(x, abi.FieldBackendURL, b("ftp://other.example.com/")))
		r.st("set.timeout", imports.SetField(x, abi.FieldBackendTimeout, b("1500")))
		getField(r, "timeout", abi.FieldBackendTimeout)
		r.st("set.timeout.0", imports.SetField(x, abi.FieldBackendTimeout, b("0")))
		r.st("set.timeout.big", imports.SetField(x, abi.FieldBackendTimeout, b("600001")))
		r.st("set.retry", imports.SetField(x, abi.FieldBackendRetry, b(`{"count":2,"statuses":[503]}`)))
		getField(r, "retry", abi.FieldBackendRetry)
		r.st("set.retry.count99", imports.SetField(x, abi.FieldBackendRetry, b(`{"count":99}`)))
		r.st("set.retry.junk", imports.SetField(x, abi.FieldBackendRetry, b(`{`)))
		r.st("set.redirects", imports.SetField(x, abi.FieldBackendFollowRedirects, b("true")))
		getField(r, "redirects", abi.FieldBackendFollowRedirects)
		r.st("set.redirects.maybe", imports.SetField(x, abi.FieldBackendFollowRedirects, b("maybe")))
		getField(r, "cache_status", abi.FieldCacheStatus)
		r.st("set.cache_status", imports.SetField(x, abi.FieldCacheStatus, b(abi.CacheStatusBypass)))
		getField(r, "cache_status.after", abi.FieldCacheStatus)
		r.st("set.cache_status.bad", imports.SetField(x, abi.FieldCacheStatus, b("HIT")))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.st("set.timeout", imports.SetField(r.ctx, abi.FieldBackendTimeout, b("1000")))
		r.st("set.cache_status", imports.SetField(r.ctx, abi.FieldCacheStatus, b(abi.CacheStatusMiss)))
	}},

	"headers": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		getHeader(r, "get", 0, "X-In")
		getHeader(r, "get.lower", 0, "x-in")
		getHeader(r, "get.missing", 0, "X-Missing")
		r.read("get.cap0", 0, func(buf []byte) int32 { return imports.GetHeader(x, 0, b("X-In"), buf) })
		getHeader(r, "get.kind5", 5, "X-In")
		getHeader(r, "get.resp-kind-in-req", 1, "X-Early")
		r.st("set", imports.SetHeader(x, 0, b("X-Set"), b("v")))
		r.st("add", imports.AddHeader(x, 0, b("X-Set"), b("w")))
		getHeader(r, "get.set", 0, "X-Set")
		r.st("set.bad-name", imports.SetHeader(x, 0, b("Bad Name"), b("v")))
		r.st("set.host", imports.SetHeader(x, 0, b("Host"), b("evil.example")))
		r.st("set.content-length", imports.SetHeader(x, 0, b("Content-Length"), b("1")))
		r.st("set.transfer-encoding", imports.SetHeader(x, 0, b("Transfer-Encoding"), b("chunked")))
		r.st("set.newline", imports.SetHeader(x, 0, b("X-A"), b("a\r\nX-B: b")))
		r.st("set.value-too-long", imports.SetHeader(x, 0, b("X-A"), make([]byte, abi.MaxHeaderValue+1)))
		r.st("set.name-too-long", imports.SetHeader(x, 0, b(strings.Repeat("n", abi.MaxHeaderName+1)), b("v")))
		r.st("add.kind5", imports.AddHeader(x, 5, b("X-A"), b("v")))
		r.st("del", imports.DelHeader(x, 0, b("X-In")))
		getHeader(r, "get.deleted", 0, "X-In")
		r.st("del.absent", imports.DelHeader(x, 0, b("X-Nope")))
		r.st("del.connection", imports.DelHeader(x, 0, b("Connection")))
		r.st("del.kind9", imports.DelHeader(x, 9, b("X-Set")))
		r.read("get_headers", 256, func(buf []byte) int32 { return imports.GetHeaders(x, 0, buf) })
		r.read("get_headers.cap1", 1, func(buf []byte) int32 { return imports.GetHeaders(x, 0, buf) })
		r.read("get_headers.kind5", 256, func(buf []byte) int32 { return imports.GetHeaders(x, 5, buf) })
		return cont
	}, resp: func(r *report, plan, att uint32) {
		x := r.ctx
		r.st("set.req-kind", imports.SetHeader(x, 0, b("X-A"), b("1")))
		r.st("add.req-kind", imports.AddHeader(x, 0, b("X-A"), b("1")))
		r.st("del.req-kind", imports.DelHeader(x, 0, b("X-Set")))
		getHeader(r, "get.req-kind", 0, "X-Set")
		getHeader(r, "get.content-type", 1, "Content-Type")
		r.st("set.resp", imports.SetHeader(x, 1, b("X-Resp"), b("r")))
		r.st("del.content-type", imports.DelHeader(x, 1, b("Content-Type")))
		r.read("get_headers", 256, func(buf []byte) int32 { return imports.GetHeaders(x, 1, buf) })
	}},

	"body": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.read("get", 64, func(buf []byte) int32 { return imports.GetBody(x, 0, buf) })
		r.read("get.cap2", 2, func(buf []byte) int32 { return imports.GetBody(x, 0, buf) })
		r.read("get.resp-kind", 64, func(buf []byte) int32 { return imports.GetBody(x, 1, buf) })
		r.read("get.kind7", 64, func(buf []byte) int32 { return imports.GetBody(x, 7, buf) })
		r.st("set", imports.SetBody(x, 0, b("bye")))
		r.read("get.after", 64, func(buf []byte) int32 { return imports.GetBody(x, 0, buf) })
		r.st("set.resp-kind", imports.SetBody(x, 1, b("no")))
		r.st("set.over-output-cap", imports.SetBody(x, 0, make([]byte, abi.DefaultMaxOutput+1)))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		x := r.ctx
		r.read("get", 64, func(buf []byte) int32 { return imports.GetBody(x, 1, buf) })
		r.st("set", imports.SetBody(x, 1, b("new")))
		r.read("get.after", 64, func(buf []byte) int32 { return imports.GetBody(x, 1, buf) })
		r.st("set.req-kind", imports.SetBody(x, 0, b("x")))
	}},

	"body-convert": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		conv := func(label string, kind, c, flags, max int32) {
			r.read(label, 256, func(buf []byte) int32 { return imports.BodyConvert(x, kind, c, flags, max, buf) })
		}
		get := func(label string) { r.read(label, 256, func(buf []byte) int32 { return imports.GetBody(x, 0, buf) }) }
		conv("json-to-xml", 0, abi.ConvertJSONToXML, 0, 4096)
		get("get.after")
		conv("resp-kind", 1, abi.ConvertXMLToJSON, 0, 4096)
		conv("kind7", 7, abi.ConvertXMLToJSON, 0, 4096)
		conv("conversion0", 0, 0, 0, 4096)
		conv("conversion3", 0, 3, 0, 4096)
		conv("flag8", 0, abi.ConvertXMLToJSON, 8, 4096)
		conv("json-to-xml.direct-flag", 0, abi.ConvertJSONToXML, abi.ConvertDirect, 4096)
		conv("xml-to-json.parse-date-flag", 0, abi.ConvertXMLToJSON, abi.ConvertParseDate, 4096)
		conv("max0", 0, abi.ConvertXMLToJSON, 0, 0)
		conv("max-1", 0, abi.ConvertXMLToJSON, 0, -1)
		conv("body-over-max", 0, abi.ConvertXMLToJSON, 0, 5)
		get("get.unchanged")
		r.st("set.small", imports.SetBody(x, 0, b(`{"a":"x"}`)))
		conv("result-over-max", 0, abi.ConvertJSONToXML, 0, 10)
		get("get.unchanged2")
		r.st("set.bad-json", imports.SetBody(x, 0, b(`{"a":`)))
		conv("bad-json", 0, abi.ConvertJSONToXML, 0, 4096)
		r.read("bad-json.cap0", 0, func(buf []byte) int32 { return imports.BodyConvert(x, 0, abi.ConvertJSONToXML, 0, 4096, buf) })
		get("get.bad-json.unchanged")
		r.st("set.xml", imports.SetBody(x, 0, b(`<a><b>1</b><b>2</b><c>t</c></a>`)))
		conv("xml-to-json", 0, abi.ConvertXMLToJSON, 0, 4096)
		get("get.xml-to-json")
		r.st("set.xml2", imports.SetBody(x, 0, b(`<a><c>t</c></a>`)))
		conv("xml-to-json.always-array", 0, abi.ConvertXMLToJSON, abi.ConvertAlwaysArray, 4096)
		get("get.always-array")
		r.st("set.empty", imports.SetBody(x, 0, nil))
		conv("empty", 0, abi.ConvertJSONToXML, 0, 4096)
		r.st("set.space", imports.SetBody(x, 0, b(" \n\t")))
		conv("whitespace", 0, abi.ConvertXMLToJSON, 0, 4096)
		get("get.whitespace.unchanged")
		return cont
	}, resp: func(r *report, plan, att uint32) {
		x := r.ctx
		conv := func(label string, kind, c, flags, max int32) {
			r.read(label, 256, func(buf []byte) int32 { return imports.BodyConvert(x, kind, c, flags, max, buf) })
		}
		get := func(label string) { r.read(label, 256, func(buf []byte) int32 { return imports.GetBody(x, 1, buf) }) }
		conv("bad-xml", 1, abi.ConvertXMLToJSON, 0, 4096)
		get("get.unchanged")
		conv("req-kind", 0, abi.ConvertXMLToJSON, 0, 4096)
		r.st("set.xml", imports.SetBody(x, 1, b(`<r><x>1</x></r>`)))
		conv("xml-to-json", 1, abi.ConvertXMLToJSON, 0, 4096)
		get("get.xml-to-json")
		conv("json-to-xml", 1, abi.ConvertJSONToXML, 0, 4096)
		get("get.json-to-xml")
		conv("body-over-max", 1, abi.ConvertXMLToJSON, 0, 3)
		get("get.unchanged2")
	}},

	"client-cert-none": clientCert,
	"client-cert":      clientCert,

	"status": {req: func(r *report, plan, att uint32) int32 {
		r.st("get_status", imports.GetStatus(r.ctx))
		r.st("set_status", imports.SetStatus(r.ctx, 200))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		x := r.ctx
		r.st("get_status", imports.GetStatus(x))
		r.st("set_status", imports.SetStatus(x, 201))
		r.st("get_status.after", imports.GetStatus(x))
		r.st("set_status.99", imports.SetStatus(x, 99))
		r.st("set_status.600", imports.SetStatus(x, 600))
	}},

	"send-response": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.st("send.600", imports.SendResponse(x, 600, nil))
		r.st("send.99", imports.SendResponse(x, 99, nil))
		r.st("send.over-output-cap", imports.SendResponse(x, 200, make([]byte, abi.DefaultMaxOutput+1)))
		r.st("set_header.early", imports.SetHeader(x, 1, b("X-Early"), b("e")))
		r.st("send", imports.SendResponse(x, 418, b("teapot")))
		getHeader(r, "get_header.early", 1, "X-Early")
		r.st("get_status", imports.GetStatus(x))
		return abi.ActionStop
	}, resp: func(r *report, plan, att uint32) {
		x := r.ctx
		r.st("get_status", imports.GetStatus(x))
		r.read("get_body", 64, func(buf []byte) int32 { return imports.GetBody(x, 1, buf) })
		r.st("send", imports.SendResponse(x, 200, b("again")))
	}},

	"params": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.read("get", 16, func(buf []byte) int32 { return imports.GetParam(x, b("id"), buf) })
		r.read("get.missing", 16, func(buf []byte) int32 { return imports.GetParam(x, b("nope"), buf) })
		r.read("get.cap0", 0, func(buf []byte) int32 { return imports.GetParam(x, b("id"), buf) })
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.read("get", 16, func(buf []byte) int32 { return imports.GetParam(r.ctx, b("id"), buf) })
	}},

	"vars": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.read("get.missing", 16, func(buf []byte) int32 { return imports.GetVar(x, b("a"), buf) })
		r.st("set", imports.SetVar(x, b("a"), b("1")))
		r.read("get", 16, func(buf []byte) int32 { return imports.GetVar(x, b("a"), buf) })
		r.read("get.cap0", 0, func(buf []byte) int32 { return imports.GetVar(x, b("a"), buf) })
		r.st("set.empty-name", imports.SetVar(x, nil, b("1")))
		r.st("set.name-129", imports.SetVar(x, b(strings.Repeat("n", abi.MaxVarName+1)), b("1")))
		r.st("set.value-65537", imports.SetVar(x, b("big"), make([]byte, abi.MaxVarValue+1)))
		r.read("get.big", 16, func(buf []byte) int32 { return imports.GetVar(x, b("big"), buf) })
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.read("get", 16, func(buf []byte) int32 { return imports.GetVar(r.ctx, b("a"), buf) })
		r.st("set", imports.SetVar(r.ctx, b("b"), b("2")))
	}},

	"log-clock-random": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		for lvl := abi.LogDebug; lvl <= abi.LogError; lvl++ {
			r.st("log."+strconv.Itoa(int(lvl)), imports.Log(x, lvl, b("conformance")))
		}
		r.st("log.level4", imports.Log(x, 4, b("conformance")))
		r.st("log.level-1", imports.Log(x, -1, b("conformance")))
		r.st("log.over-cap", imports.Log(x, abi.LogInfo, make([]byte, abi.MaxLogMessage+100)))
		t1 := imports.Now()
		t2 := imports.Now()
		r.line("now.after-2020", strconv.FormatBool(t1 > 1577836800e9))
		r.line("now.monotone-pair", strconv.FormatBool(t2 >= t1))
		buf := make([]byte, abi.MaxRandom+1)
		r.st("random.16", imports.Random(buf[:16]))
		r.st("random.max", imports.Random(buf[:abi.MaxRandom]))
		r.st("random.over", imports.Random(buf))
		r.st("random.0", imports.Random(nil))
		a, c := make([]byte, 32), make([]byte, 32)
		imports.Random(a)
		imports.Random(c)
		r.line("random.differs", strconv.FormatBool(string(a) != string(c)))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.st("log", imports.Log(r.ctx, abi.LogInfo, b("response")))
	}},

	"counters": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		var out [16]byte
		add := func(label, key string, delta, limit, window int64, mode int32) {
			out = [16]byte{}
			st := imports.CounterAdd(x, b(key), delta, limit, window, mode, &out)
			r.line(label, strconv.Itoa(int(st))+":count="+strconv.FormatInt(int64(binary.LittleEndian.Uint64(out[:8])), 10)+
				",reset-set="+strconv.FormatBool(binary.LittleEndian.Uint64(out[8:]) != 0))
		}
		add("add.1", "conf-c1", 1, 2, 60000, abi.CounterFixed)
		add("add.2", "conf-c1", 1, 2, 60000, abi.CounterFixed)
		add("add.over-limit", "conf-c1", 1, 2, 60000, abi.CounterFixed)
		add("add.zero", "conf-c1", 0, 2, 60000, abi.CounterFixed)
		add("add.no-limit", "conf-c2", 5, 0, 60000, abi.CounterFixed)
		add("add.sliding", "conf-c3", 1, 10, 60000, abi.CounterSliding)
		add("add.empty-key", "", 1, 10, 60000, abi.CounterFixed)
		add("add.key-513", strings.Repeat("k", abi.MaxKey+1), 1, 10, 60000, abi.CounterFixed)
		add("add.window-0", "conf-c4", 1, 10, 0, abi.CounterFixed)
		add("add.window-367d", "conf-c4", 1, 10, abi.MaxCounterWindowMs+1, abi.CounterFixed)
		add("add.delta-neg", "conf-c4", -1, 10, 60000, abi.CounterFixed)
		add("add.mode7", "conf-c4", 1, 10, 60000, 7)
		return cont
	}},

	"cache": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		get := func(label, key string, c int) {
			r.read(label, c, func(buf []byte) int32 { return imports.CacheGet(x, b(key), buf) })
		}
		get("get.miss", "conf-k", 16)
		r.st("set", imports.CacheSet(x, b("conf-k"), b("value"), 60000))
		get("get", "conf-k", 16)
		get("get.cap0", "conf-k", 0)
		r.st("set.ttl0", imports.CacheSet(x, b("conf-k2"), b("v"), 0))
		r.st("set.ttl-over-24h", imports.CacheSet(x, b("conf-k2"), b("v"), abi.MaxCacheTTLMs+1))
		r.st("set.empty-key", imports.CacheSet(x, nil, b("v"), 1000))
		r.st("set.key-513", imports.CacheSet(x, b(strings.Repeat("k", abi.MaxKey+1)), b("v"), 1000))
		get("get.empty-key", "", 16)
		get("get.key-513", strings.Repeat("k", abi.MaxKey+1), 16)
		r.st("set.value-5MiB", imports.CacheSet(x, b("conf-k3"), make([]byte, 5<<20), 1000))
		r.st("del", imports.CacheDel(x, b("conf-k")))
		get("get.deleted", "conf-k", 16)
		r.st("del.absent", imports.CacheDel(x, b("conf-absent")))
		return cont
	}},

	"fill-lease": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.st("lease", imports.CacheFillLease(x, b("conf-l"), 0))
		r.st("lease.again", imports.CacheFillLease(x, b("conf-l"), 1000))
		r.st("lease.wait-30001", imports.CacheFillLease(x, b("conf-l2"), abi.MaxFillLeaseWait+1))
		r.st("lease.wait-neg", imports.CacheFillLease(x, b("conf-l2"), -1))
		r.st("lease.empty-key", imports.CacheFillLease(x, nil, 0))
		r.st("lease.key-513", imports.CacheFillLease(x, b(strings.Repeat("k", abi.MaxKey+1)), 0))
		held, st := 1, int32(0)
		for i := 0; i < 40; i++ {
			if st = imports.CacheFillLease(x, b("conf-lb"+strconv.Itoa(i)), 0); st != abi.OK {
				break
			}
			held++
		}
		r.line("lease.budget", strconv.Itoa(int(st))+":held="+strconv.Itoa(held))
		r.st("cache_set.ends-lease", imports.CacheSet(x, b("conf-l"), b("filled"), 60000))
		r.st("lease.after-set", imports.CacheFillLease(x, b("conf-lb-next"), 0))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.st("lease", imports.CacheFillLease(r.ctx, b("conf-l3"), 0))
	}},

	// "fill-lease-held" runs while another request holds the fill lease
	// of conf-held (Case.HeldLeases).
	"fill-lease-held": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.st("lease.held-elsewhere", imports.CacheFillLease(x, b("conf-held"), 0))
		r.st("lease.free", imports.CacheFillLease(x, b("conf-free"), 0))
		r.read("cache_get.held", 16, func(buf []byte) int32 { return imports.CacheGet(x, b("conf-held"), buf) })
		return cont
	}},

	"concurrency": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.st("acquire", imports.ConcurrencyAcquire(x, b("conf-s"), 1))
		r.st("acquire.full", imports.ConcurrencyAcquire(x, b("conf-s"), 1))
		r.st("acquire.limit2", imports.ConcurrencyAcquire(x, b("conf-s"), 2))
		r.st("acquire.limit0", imports.ConcurrencyAcquire(x, b("conf-s"), 0))
		r.st("acquire.empty-key", imports.ConcurrencyAcquire(x, nil, 1))
		r.st("acquire.key-513", imports.ConcurrencyAcquire(x, b(strings.Repeat("k", abi.MaxConcurrencyKey+1)), 1))
		held, st := 2, int32(0)
		for i := 0; i < 40; i++ {
			if st = imports.ConcurrencyAcquire(x, b("conf-sb"+strconv.Itoa(i)), 100); st != abi.OK {
				break
			}
			held++
		}
		r.line("acquire.budget", strconv.Itoa(int(st))+":held="+strconv.Itoa(held))
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.st("acquire.budget-still-full", imports.ConcurrencyAcquire(r.ctx, b("conf-s2"), 5))
	}},

	"jwt": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		now := imports.Now() / 1e9
		good := `{"iss":"conf-iss","aud":"conf-aud","exp":` + strconv.FormatInt(now+600, 10) + `,"role":"admin"}`
		verify := func(label, token, cfg string, c int) {
			r.read(label, c, func(buf []byte) int32 { return imports.JWTVerify(x, b(token), b(cfg), buf) })
		}
		// On success the claims are the payload exactly as signed (its exp
		// is the clock's, so the report says whether they match).
		claims := make([]byte, 256)
		n := imports.JWTVerify(x, b(hs256(good, jwtSecret)), b(jwtConfig), claims)
		r.line("verify", strconv.FormatBool(n == int32(len(good)))+":claims-as-signed="+strconv.FormatBool(n >= 0 && int(n) <= len(claims) && string(claims[:max(n, 0)]) == good))
		r.line("verify.cap0", strconv.FormatBool(imports.JWTVerify(x, b(hs256(good, jwtSecret)), b(jwtConfig), nil) == int32(len(good))))
		verify("verify.format", "not-a-token", jwtConfig, 256)
		verify("verify.config-junk", hs256(good, jwtSecret), `{`, 256)
		verify("verify.config-short-secret", hs256(good, jwtSecret), `{"algorithms":["HS256"],"issuers":["conf-iss"],"audiences":["conf-aud"],"hmac_secret":"short"}`, 256)
		verify("verify.signature", hs256(good, jwtSecret+"x"), jwtConfig, 256)
		verify("verify.expired", hs256(`{"iss":"conf-iss","aud":"conf-aud","exp":`+strconv.FormatInt(now-3600, 10)+`,"role":"admin"}`, jwtSecret), jwtConfig, 256)
		verify("verify.no-exp", hs256(`{"iss":"conf-iss","aud":"conf-aud","role":"admin"}`, jwtSecret), jwtConfig, 256)
		verify("verify.issuer", hs256(`{"iss":"other","aud":"conf-aud","exp":`+strconv.FormatInt(now+600, 10)+`,"role":"admin"}`, jwtSecret), jwtConfig, 256)
		verify("verify.audience", hs256(`{"iss":"conf-iss","aud":"other","exp":`+strconv.FormatInt(now+600, 10)+`,"role":"admin"}`, jwtSecret), jwtConfig, 256)
		verify("verify.claim", hs256(`{"iss":"conf-iss","aud":"conf-aud","exp":`+strconv.FormatInt(now+600, 10)+`,"role":"user"}`, jwtSecret), jwtConfig, 256)
		verify("verify.alg-none", jwtPart(`{"alg":"none","typ":"JWT"}`)+"."+jwtPart(good)+".", jwtConfig, 256)
		verify("verify.alg-hs512", hs512(good, jwtSecret), jwtConfig, 256)
		verify("verify.keys", jwtPart(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)+"."+jwtPart(good)+"."+jwtPart("sig"), `{"algorithms":["RS256"],"issuers":["conf-iss"],"audiences":["conf-aud"],"jwks_url":"http://127.0.0.1:1/jwks"}`, 256)
		return cont
	}},

	// "trap-unknown-ctx" passes a context handle the host never gave: not
	// a status but a trap (§6), so the request fails and nothing is
	// reported.
	"trap-unknown-ctx": {req: func(r *report, plan, att uint32) int32 {
		buf := make([]byte, 16)
		r.st("get_field.unknown-ctx", imports.GetField(r.ctx+0x10000, abi.FieldMethod, buf))
		return cont
	}},

	// "unavailable" runs on a bare host (Case.Bare): no stores, no
	// verifier, no catalog.
	"unavailable": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		var out [16]byte
		buf := make([]byte, 64)
		r.st("counter_add", imports.CounterAdd(x, b("k"), 1, 10, 1000, abi.CounterFixed, &out))
		r.st("cache_get", imports.CacheGet(x, b("k"), buf))
		r.st("cache_set", imports.CacheSet(x, b("k"), b("v"), 1000))
		r.st("cache_del", imports.CacheDel(x, b("k")))
		r.st("cache_fill_lease", imports.CacheFillLease(x, b("k"), 0))
		r.st("concurrency_acquire", imports.ConcurrencyAcquire(x, b("k"), 1))
		r.st("jwt_verify", imports.JWTVerify(x, b("a.b.c"), b(jwtConfig), buf))
		r.st("subscription_lookup", imports.SubscriptionLookup(x, b("k"), buf))
		r.st("subscription_check", imports.SubscriptionCheck(x, b("X-Key"), nil, 0))
		return cont
	}},

	"subscription": {req: func(r *report, plan, att uint32) int32 {
		x := r.ctx
		r.read("lookup.unknown", 256, func(buf []byte) int32 { return imports.SubscriptionLookup(x, b("nope"), buf) })
		r.read("lookup.suspended", 256, func(buf []byte) int32 {
			return imports.SubscriptionLookup(x, b("conformance-suspended-key"), buf)
		})
		getField(r, "subscription.after-suspended", abi.FieldSubscription)
		r.read("lookup.cap0", 0, func(buf []byte) int32 {
			return imports.SubscriptionLookup(x, b("conformance-suspended-key"), buf)
		})
		r.st("check.missing", imports.SubscriptionCheck(x, b("X-None"), nil, 0))
		r.st("check.bad-header", imports.SubscriptionCheck(x, b("Bad Name"), nil, 0))
		r.st("check.query-suspended", imports.SubscriptionCheck(x, b("X-None"), b("key"), abi.SubAllowQuery))
		r.st("check.header-active", imports.SubscriptionCheck(x, b("X-Key"), nil, 0))
		getHeader(r, "header.after-check", 0, "X-Key")
		r.st("check.keep", imports.SubscriptionCheck(x, b("X-Key2"), nil, abi.SubKeep))
		r.read("header.after-keep", 64, func(buf []byte) int32 { return imports.GetHeader(x, 0, b("X-Key2"), buf) })
		getField(r, "subscription", abi.FieldSubscription)
		getField(r, "product", abi.FieldProduct)
		return cont
	}, resp: func(r *report, plan, att uint32) {
		r.st("check", imports.SubscriptionCheck(r.ctx, b("X-Key"), nil, 0))
		getField(r, "subscription", abi.FieldSubscription)
	}},
}

// The jwt case's secret and verification config (host/jwtverify's JSON
// config, ABI.md §5 jwt).
const (
	jwtSecret = "conformance-secret-of-32-bytes!!"
	jwtConfig = `{"algorithms":["HS256"],"issuers":["conf-iss"],"audiences":["conf-aud"],` +
		`"hmac_secret":"` + jwtSecret + `","required_claims":{"role":["admin"]}}`
)

func jwtPart(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func hs(h func() hash.Hash, alg, claims, secret string) string {
	in := jwtPart(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + jwtPart(claims)
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hs256(claims, secret string) string { return hs(sha256.New, "HS256", claims, secret) }
func hs512(claims, secret string) string { return hs(sha512.New, "HS512", claims, secret) }

// clientCert reads the client certificate fields (ABI.md §12) in both
// phases and tries to set them; the cases client-cert-none and client-cert
// differ only in the certificate the host was given.
var clientCert = guestCase{req: func(r *report, plan, att uint32) int32 {
	x := r.ctx
	getField(r, "subject", abi.FieldClientCertSubject)
	getField(r, "issuer", abi.FieldClientCertIssuer)
	getField(r, "thumbprint", abi.FieldClientCertThumbprint)
	getField(r, "not_after", abi.FieldClientCertNotAfter)
	r.read("subject.cap4", 4, func(buf []byte) int32 { return imports.GetField(x, abi.FieldClientCertSubject, buf) })
	r.st("set.subject", imports.SetField(x, abi.FieldClientCertSubject, b("CN=forged")))
	r.st("set.issuer", imports.SetField(x, abi.FieldClientCertIssuer, b("CN=forged")))
	r.st("set.thumbprint", imports.SetField(x, abi.FieldClientCertThumbprint, b("00")))
	r.st("set.not_after", imports.SetField(x, abi.FieldClientCertNotAfter, b("2099-01-01T00:00:00Z")))
	r.st("set.subject.empty", imports.SetField(x, abi.FieldClientCertSubject, nil))
	getField(r, "subject.after", abi.FieldClientCertSubject)
	return cont
}, resp: func(r *report, plan, att uint32) {
	getField(r, "subject", abi.FieldClientCertSubject)
	getField(r, "thumbprint", abi.FieldClientCertThumbprint)
	r.st("set.thumbprint", imports.SetField(r.ctx, abi.FieldClientCertThumbprint, b("00")))
}}
