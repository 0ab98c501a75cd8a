package conformance

import "github.com/gatehouse/gatehouse/abi"

// pet is the request most cases run on: GET /pets/7?a=1 with one header.
func pet() Request {
	return Request{Method: "GET", Path: "/pets/7", Query: "a=1",
		Header: map[string]string{"X-In": "in"}, Params: map[string]string{"id": "7"}}
}

// Cases returns the conformance table. Each Want is what abi/ABI.md
// prescribes; the section deciding a line is named beside the case.
func Cases() []Case {
	return []Case{
		// §5 config, §4 buffer convention.
		{
			Name:     "config",
			Funcs:    []string{"get_plan", "get_attachment"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `get_plan=4:first-is-attachment=true
get_plan.cap0=4
get_plan.unknown=-1
get_attachment.config=17:"{\"case\":\"config\"}"
get_attachment.config.cap3=17
get_attachment.item9=-2
get_attachment.unknown=-1`,
				Response: `get_attachment.config=17:"{\"case\":\"config\"}"`},
		},
		// §5 http: get_field/set_field, §11.
		{
			Name:     "fields",
			Funcs:    []string{"get_field", "set_field"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `method=3:"GET"
path=7:"/pets/7"
query=3:"a=1"
client_ip=9:"192.0.2.1"
request_id=6:"conf-1"
api=11:"conformance"
route_template=10:"/pets/{id}"
phase=7:"request"
subscription=0:""
method.cap1=3
field99=-2
field0=-2
set.method=0
method.after=4:"POST"
set.method.space=-2
set.method.33=-2
set.path=0
path.after=4:"/a/b"
set.path.above-root=-2
set.query=0
set.query.space=-2
set.client_ip=-2
set.field99=-2`,
				Response: `phase=8:"response"
method=4:"POST"
set.method=-3`},
		},
		// §5 backend fields 16–19, cache status field 20.
		{
			Name:     "backend",
			Funcs:    []string{"get_field", "set_field"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `set.url=0
url=28:"https://other.example.com/v2"
set.url.loopback=-2
set.url.query=-2
set.url.ftp=-2
set.timeout=0
timeout=4:"1500"
set.timeout.0=-2
set.timeout.big=-2
set.retry=0
retry=44:"{\"count\":2,\"interval_ms\":0,\"statuses\":[503]}"
set.retry.count99=-2
set.retry.junk=-2
set.redirects=0
redirects=4:"true"
set.redirects.maybe=-2
cache_status=0:""
set.cache_status=0
cache_status.after=6:"bypass"
set.cache_status.bad=-2`,
				Response: `set.timeout=-3
set.cache_status=0`},
		},
		// §5 http headers, §4 multi-value results.
		{
			Name:     "headers",
			Funcs:    []string{"get_header", "get_headers", "set_header", "add_header", "del_header"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrPhase},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `get=2:"in"
get.lower=2:"in"
get.missing=-1
get.cap0=2
get.kind5=-2
get.resp-kind-in-req=-1
set=0
add=0
get.set=3:"v\x00w"
set.bad-name=-2
set.host=-2
set.content-length=-2
set.transfer-encoding=-2
set.newline=-2
set.value-too-long=-2
set.name-too-long=-2
add.kind5=-2
del=0
get.deleted=-1
del.absent=0
del.connection=-2
del.kind9=-2
get_headers=16:"X-Set\x00v\x00X-Set\x00w\x00"
get_headers.cap1=16
get_headers.kind5=-2`,
				Response: `set.req-kind=-3
add.req-kind=-3
del.req-kind=-3
get.req-kind=3:"v\x00w"
get.content-type=10:"text/plain"
set.resp=0
del.content-type=0
get_headers=9:"X-Resp\x00r\x00"`},
		},
		// §5 body.
		{
			Name:     "body",
			Funcs:    []string{"get_body", "set_body"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase, abi.ErrTooLarge},
			Request:  Request{Method: "POST", Path: "/pets/7", Body: "hello", Params: map[string]string{"id": "7"}},
			Want: Outcome{Status: 200,
				Request: `get=5:"hello"
get.cap2=5
get.resp-kind=-3
get.kind7=-2
set=0
get.after=3:"bye"
set.resp-kind=-3
set.over-output-cap=-4`,
				Response: `get=2:"ok"
set=0
get.after=3:"new"
set.req-kind=-3`},
		},
		// §13: body_convert on a request and a response body.
		{
			Name:     "body-convert",
			Funcs:    []string{"body_convert", "get_body", "set_body"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrPhase, abi.ErrTooLarge},
			Request:  Request{Method: "POST", Path: "/pets/7", Body: `{"pet":{"id":7,"tags":["a","b"]}}`, Params: map[string]string{"id": "7"}},
			Want: Outcome{Status: 200,
				Request: `json-to-xml=0:""
get.after=108:"<?xml version=\"1.0\" encoding=\"utf-8\"?><Document><pet><id>7</id><tags>a</tags><tags>b</tags></pet></Document>"
resp-kind=-3
kind7=-2
conversion0=-2
conversion3=-2
flag8=-2
json-to-xml.direct-flag=-2
xml-to-json.parse-date-flag=-2
max0=-2
max-1=-2
body-over-max=-4
get.unchanged=108:"<?xml version=\"1.0\" encoding=\"utf-8\"?><Document><pet><id>7</id><tags>a</tags><tags>b</tags></pet></Document>"
set.small=0
result-over-max=-4
get.unchanged2=9:"{\"a\":\"x\"}"
set.bad-json=0
bad-json=28:"unexpected end of JSON input"
bad-json.cap0=28
get.bad-json.unchanged=5:"{\"a\":"
set.xml=0
xml-to-json=0:""
get.xml-to-json=29:"{\"a\":{\"b\":[\"1\",\"2\"],\"c\":\"t\"}}"
set.xml2=0
xml-to-json.always-array=0:""
get.always-array=17:"{\"a\":{\"c\":[\"t\"]}}"
set.empty=0
empty=-1
set.space=0
whitespace=-1
get.whitespace.unchanged=3:" \n\t"`,
				Response: `bad-xml=29:"text outside the root element"
get.unchanged=2:"ok"
req-kind=-3
set.xml=0
xml-to-json=0:""
get.xml-to-json=15:"{\"r\":{\"x\":\"1\"}}"
json-to-xml=0:""
get.json-to-xml=74:"<?xml version=\"1.0\" encoding=\"utf-8\"?><Document><r><x>1</x></r></Document>"
body-over-max=-4
get.unchanged2=74:"<?xml version=\"1.0\" encoding=\"utf-8\"?><Document><r><x>1</x></r></Document>"`},
		},
		// §12: the client certificate fields without a certificate (each
		// empty) and with one, in both phases; read-only: set_field →
		// ErrInvalid in the request phase, ErrPhase in the response phase
		// (§5's set_field row: "in Resp → ErrPhase", checked before the field).
		{
			Name:     "client-cert-none",
			Funcs:    []string{"get_field", "set_field"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `subject=0:""
issuer=0:""
thumbprint=0:""
not_after=0:""
subject.cap4=0:""
set.subject=-2
set.issuer=-2
set.thumbprint=-2
set.not_after=-2
set.subject.empty=-2
subject.after=0:""`,
				Response: `subject=0:""
thumbprint=0:""
set.thumbprint=-3`},
		},
		{
			Name:     "client-cert",
			Funcs:    []string{"get_field", "set_field"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase},
			Request: Request{Method: "GET", Path: "/pets/7", Params: map[string]string{"id": "7"},
				ClientCert: &ClientCert{Subject: "CN=client-a,O=Acme", Issuer: "CN=Acme CA,O=Acme",
					Thumbprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", NotAfter: "2027-01-31T12:00:00Z"}},
			Want: Outcome{Status: 200,
				Request: `subject=18:"CN=client-a,O=Acme"
issuer=17:"CN=Acme CA,O=Acme"
thumbprint=64:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
not_after=20:"2027-01-31T12:00:00Z"
subject.cap4=18
set.subject=-2
set.issuer=-2
set.thumbprint=-2
set.not_after=-2
set.subject.empty=-2
subject.after=18:"CN=client-a,O=Acme"`,
				Response: `subject=18:"CN=client-a,O=Acme"
thumbprint=64:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
set.thumbprint=-3`},
		},
		// §5 http: get_status/set_status.
		{
			Name:     "status",
			Funcs:    []string{"get_status", "set_status"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrPhase},
			Request:  pet(),
			Want: Outcome{Status: 201,
				Request: `get_status=-1
set_status=-3`,
				Response: `get_status=200
set_status=0
get_status.after=201
set_status.99=-2
set_status.600=-2`},
		},
		// §5 http: send_response, §3 early answers.
		{
			Name:     "send-response",
			Funcs:    []string{"send_response", "set_header", "get_header", "get_status", "get_body"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase, abi.ErrTooLarge},
			Request:  pet(),
			Want: Outcome{Status: 418,
				Request: `send.600=-2
send.99=-2
send.over-output-cap=-4
set_header.early=0
send=0
get_header.early=1:"e"
get_status=418`,
				Response: `get_status=418
get_body=6:"teapot"
send=-3`},
		},
		// §5 http: get_param.
		{
			Name:     "params",
			Funcs:    []string{"get_param"},
			Statuses: []int32{abi.OK, abi.ErrNotFound},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `get=1:"7"
get.missing=-1
get.cap0=1`,
				Response: `get=1:"7"`},
		},
		// §5 vars.
		{
			Name:     "vars",
			Funcs:    []string{"get_var", "set_var"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrTooLarge},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `get.missing=-1
set=0
get=1:"1"
get.cap0=1
set.empty-name=-2
set.name-129=-2
set.value-65537=-4
get.big=-1`,
				Response: `get=1:"1"
set=0`},
		},
		// §5 log, clock, random.
		{
			Name:     "log-clock-random",
			Funcs:    []string{"log", "now", "random"},
			Statuses: []int32{abi.OK, abi.ErrInvalid},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `log.0=0
log.1=0
log.2=0
log.3=0
log.level4=-2
log.level-1=-2
log.over-cap=0
now.after-2020=true
now.monotone-pair=true
random.16=0
random.max=0
random.over=-2
random.0=0
random.differs=true`,
				Response: `log=0`},
		},
		// §5 counters.
		{
			Name:     "counters",
			Funcs:    []string{"counter_add"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrLimit},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `add.1=0:count=1,reset-set=true
add.2=0:count=2,reset-set=true
add.over-limit=-6:count=2,reset-set=true
add.zero=0:count=2,reset-set=true
add.no-limit=0:count=5,reset-set=true
add.sliding=0:count=1,reset-set=true
add.empty-key=-2:count=0,reset-set=false
add.key-513=-2:count=0,reset-set=false
add.window-0=-2:count=0,reset-set=false
add.window-367d=-2:count=0,reset-set=false
add.delta-neg=-2:count=0,reset-set=false
add.mode7=-2:count=0,reset-set=false`,
				Response: ``},
		},
		// §5 cache.
		{
			Name:     "cache",
			Funcs:    []string{"cache_get", "cache_set", "cache_del"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrTooLarge},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `get.miss=-1
set=0
get=5:"value"
get.cap0=5
set.ttl0=-2
set.ttl-over-24h=-2
set.empty-key=-2
set.key-513=-2
get.empty-key=-1
get.key-513=-1
set.value-5MiB=-4
del=0
get.deleted=-1
del.absent=0`,
				Response: ``},
		},
		// §5 cache fill leases, §8 budgets.
		{
			Name:     "fill-lease",
			Funcs:    []string{"cache_fill_lease", "cache_set"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrPhase, abi.ErrTooLarge},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `lease=0
lease.again=0
lease.wait-30001=-2
lease.wait-neg=-2
lease.empty-key=-2
lease.key-513=-2
lease.budget=-4:held=16
cache_set.ends-lease=0
lease.after-set=0`,
				Response: `lease=-3`},
		},
		// §5 cache fill leases: another call holds the lease; with
		// wait_ms 0 nothing is recorded and the guest goes on.
		{
			Name:       "fill-lease-held",
			Funcs:      []string{"cache_fill_lease", "cache_get"},
			Statuses:   []int32{abi.OK, abi.ErrLimit, abi.ErrNotFound},
			HeldLeases: []string{"conf-held"},
			Request:    pet(),
			Want: Outcome{Status: 200,
				Request: `lease.held-elsewhere=-6
lease.free=0
cache_get.held=-1`},
		},
		// §5 concurrency, §8 budgets.
		{
			Name:     "concurrency",
			Funcs:    []string{"concurrency_acquire"},
			Statuses: []int32{abi.OK, abi.ErrInvalid, abi.ErrLimit, abi.ErrTooLarge},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `acquire=0
acquire.full=-6
acquire.limit2=0
acquire.limit0=-2
acquire.empty-key=-2
acquire.key-513=-2
acquire.budget=-4:held=16`,
				Response: `acquire.budget-still-full=-4`},
		},
		// §5 jwt (host/jwtverify's config), §6 ErrJWT*.
		{
			Name:     "jwt",
			Funcs:    []string{"jwt_verify", "now"},
			Statuses: []int32{abi.OK, abi.ErrJWTFormat, abi.ErrJWTSig, abi.ErrJWTExpiry, abi.ErrJWTIssuer, abi.ErrJWTAud, abi.ErrJWTAlg, abi.ErrJWTClaim, abi.ErrJWTConfig, abi.ErrJWTKeys},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `verify=true:claims-as-signed=true
verify.cap0=true
verify.format=-16
verify.config-junk=-23
verify.config-short-secret=-23
verify.signature=-17
verify.expired=-18
verify.no-exp=-18
verify.issuer=-19
verify.audience=-20
verify.claim=-22
verify.alg-none=-21
verify.alg-hs512=-21
verify.keys=-24`},
		},
		// §6 traps: an unknown ctx is not a status; the call fails.
		{
			Name:     "trap-unknown-ctx",
			Funcs:    []string{"get_field"},
			Request:  pet(),
			WantFail: true,
		},
		// §6 ErrUnavail: every capability function on a host without the capability.
		{
			Name:     "unavailable",
			Bare:     true,
			Funcs:    []string{"counter_add", "cache_get", "cache_set", "cache_del", "cache_fill_lease", "concurrency_acquire", "jwt_verify", "subscription_lookup", "subscription_check"},
			Statuses: []int32{abi.ErrUnavail},
			Request:  pet(),
			Want: Outcome{Status: 200,
				Request: `counter_add=-5
cache_get=-5
cache_set=-5
cache_del=-5
cache_fill_lease=-5
concurrency_acquire=-5
jwt_verify=-5
subscription_lookup=-5
subscription_check=-5`},
		},
		// §5 subscription.
		{
			Name:     "subscription",
			Funcs:    []string{"subscription_lookup", "subscription_check", "get_field", "get_header"},
			Statuses: []int32{abi.OK, abi.ErrNotFound, abi.ErrInvalid, abi.ErrPhase},
			Request: Request{Method: "GET", Path: "/pets/7", Query: "key=" + SubSuspendedKey,
				Header: map[string]string{"X-Key": SubActiveKey, "X-Key2": SubActiveKey}},
			Want: Outcome{Status: 200,
				Request: `lookup.unknown=-1
lookup.suspended=79:"{\"id\":\"sub-2\",\"state\":\"suspended\",\"scope\":\"all\",\"user\":\"u2\",\"api_allowed\":true}"
subscription.after-suspended=0:""
lookup.cap0=79
check.missing=1
check.bad-header=-2
check.query-suspended=2
check.header-active=0
header.after-check=-1
check.keep=0
header.after-keep=22:"conformance-active-key"
subscription=5:"sub-1"
product=2:"p1"`,
				Response: `check=-3
subscription=5:"sub-1"
`},
		},
	}
}
