package embedded_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/embedded"
)

// bad is a config that both the schema and the factory refuse; field is
// what the schema's error must name (a property or an instance location).
type bad struct{ field, config string }

// cases are, per policy, configs both the schema and the real factory (the
// function plugins/builtin registers) accept, and configs both refuse.
var cases = map[string]struct {
	good []string
	bad  []bad
}{
	"subscription-key": {
		good: []string{``, `{}`, `{"header":"X-Api-Key"}`, `{"header":"X-Api-Key","query":"api-key","allow_query":true}`},
		bad: []bad{
			{"header", `{"header":""}`}, {"header", `{"header":"a b"}`}, {"header", `{"header":"connection"}`},
			{"header", `{"header":"Content-Length"}`}, {"query", `{"query":""}`}, {"allow_query", `{"allow_query":"yes"}`},
			{"key", `{"key":"x"}`}, {"header", `{"header":5}`},
		},
	},
	"rate-limit": {
		good: []string{
			`{"calls":1,"renewal_period":1}`, `{"calls":100,"renewal_period":31622400}`,
			`{"calls":5,"renewal_period":60,"counter_key":""}`, `{"calls":5,"renewal_period":60,"counter_key":"subscription"}`,
			`{"calls":5,"renewal_period":60,"counter_key":"ip","sliding":true}`,
			`{"calls":5,"renewal_period":60,"counter_key":"header:X-Tenant"}`,
			`{"calls":5,"renewal_period":60,"counter_key":"var:user"}`,
			`{"calls":5,"renewal_period":60,"counter_key":"var:` + strings.Repeat("v", 128) + `"}`,
			`{"calls":5,"renewal_period":60,"remaining_calls_header":""}`,
			`{"calls":5,"renewal_period":60,"remaining_calls_header":"X-RateLimit-Remaining"}`,
		},
		bad: []bad{
			{"calls", `{}`}, {"renewal_period", `{"calls":1}`}, {"calls", `{"calls":0,"renewal_period":1}`},
			{"renewal_period", `{"calls":1,"renewal_period":0}`}, {"renewal_period", `{"calls":1,"renewal_period":31622401}`},
			{"calls", `{"calls":"1","renewal_period":1}`}, {"calls", `{"calls":1.5,"renewal_period":1}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"user"}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"header:"}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"header:a b"}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"var:"}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"var:` + strings.Repeat("v", 129) + `"}`},
			{"counter_key", `{"calls":1,"renewal_period":1,"counter_key":"Subscription"}`},
			{"remaining_calls_header", `{"calls":1,"renewal_period":1,"remaining_calls_header":"Transfer-Encoding"}`},
			{"remaining_calls_header", `{"calls":1,"renewal_period":1,"remaining_calls_header":"X:Y"}`},
			{"period", `{"calls":1,"renewal_period":1,"period":1}`},
		},
	},
	"quota": {
		good: []string{
			`{"calls":1,"renewal_period":1}`, `{"bandwidth":1,"renewal_period":31622400}`,
			`{"calls":10000,"bandwidth":40000,"renewal_period":3600}`,
		},
		bad: []bad{
			{"renewal_period", `{"calls":1}`}, {"calls", `{"renewal_period":60}`},
			{"calls", `{"calls":0,"renewal_period":60}`}, {"bandwidth", `{"bandwidth":0,"renewal_period":60}`},
			{"calls", `{"calls":0,"bandwidth":1,"renewal_period":60}`}, {"calls", `{"calls":"1","renewal_period":60}`},
			{"renewal_period", `{"calls":1,"renewal_period":0}`}, {"renewal_period", `{"calls":1,"renewal_period":31622401}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"ip"}`},
		},
	},
	"quota-by-key": {
		good: []string{
			`{"calls":1,"renewal_period":1,"counter_key":""}`, `{"bandwidth":5,"renewal_period":60,"counter_key":"ip"}`,
			`{"calls":5,"bandwidth":5,"renewal_period":60,"counter_key":"subscription","increment_count":3}`,
			`{"calls":5,"renewal_period":60,"counter_key":"header:X-Tenant","increment_condition":["2xx","304"]}`,
			`{"calls":5,"renewal_period":60,"counter_key":"var:` + strings.Repeat("v", 128) + `","increment_condition":[]}`,
			`{"calls":5,"renewal_period":60,"counter_key":"claim:sub","claims_variable":"claims"}`,
		},
		bad: []bad{
			{"counter_key", `{"calls":1,"renewal_period":60}`}, {"calls", `{"renewal_period":60,"counter_key":"ip"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"user"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"header:a b"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"claim:"}`},
			{"increment_count", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":0}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["2XX"]}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["600"]}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["200","200"]}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":"2xx"}`},
			{"claims_variable", `{"calls":1,"renewal_period":60,"counter_key":"ip","claims_variable":""}`},
			{"renewal_period", `{"calls":1,"counter_key":"ip"}`},
		},
	},
	"set-header": {
		good: []string{
			`{"name":"X-Foo","value":"bar"}`, `{"name":"X-Foo","value":""}`,
			`{"name":"X-Foo","value":"bar","exists_action":"append","phase":"response"}`,
			`{"name":"X-Foo","value":"bar","exists_action":"","phase":""}`,
			`{"name":"X-Foo","value":"bar","exists_action":"skip","phase":"request"}`,
			`{"name":"Server","exists_action":"delete","phase":"response"}`,
		},
		bad: []bad{
			{"name", `{"value":"x"}`}, {"name", `{"name":"","value":"x"}`}, {"name", `{"name":"X Foo","value":"x"}`},
			{"name", `{"name":"upgrade","value":"x"}`}, {"value", `{"name":"X-Foo"}`},
			{"value", `{"name":"X-Foo","exists_action":"delete","value":"x"}`},
			{"value", `{"name":"X-Foo","value":"a\r\nb"}`}, {"value", `{"name":"X-Foo","value":1}`},
			{"exists_action", `{"name":"X-Foo","value":"x","exists_action":"replace"}`},
			{"phase", `{"name":"X-Foo","value":"x","phase":"outbound"}`},
			{"values", `{"name":"X-Foo","values":["x"]}`},
		},
	},
	"cache-lookup": {
		good: []string{`{}`, `{"vary_by_headers":[]}`, `{"vary_by_headers":["Accept","Accept-Language"],"vary_by_subscription":true,"allow_private_response_caching":true}`,
			`{"stampede_wait_ms":0}`, `{"stampede_wait_ms":30000}`,
			`{"vary_by_query_parameters":["page","size"],"downstream_caching_type":"public","must_revalidate":false}`,
			`{"vary_by_query_parameters":[],"downstream_caching_type":""}`, `{"downstream_caching_type":"none"}`, `{"downstream_caching_type":"private"}`},
		bad: []bad{
			{"vary_by_query_parameters", `{"vary_by_query_parameters":"page"}`}, {"vary_by_query_parameters", `{"vary_by_query_parameters":[""]}`},
			{"vary_by_query_parameters", `{"vary_by_query_parameters":["a&b"]}`}, {"vary_by_query_parameters", `{"vary_by_query_parameters":["a","a"]}`},
			{"downstream_caching_type", `{"downstream_caching_type":"shared"}`}, {"must_revalidate", `{"must_revalidate":"yes"}`},
			{"stampede_wait_ms", `{"stampede_wait_ms":-1}`}, {"stampede_wait_ms", `{"stampede_wait_ms":30001}`},
			{"stampede_wait_ms", `{"stampede_wait_ms":"5000"}`}, {"stampede_wait_ms", `{"stampede_wait_ms":1.5}`},
			{"vary_by_headers", `{"vary_by_headers":"Accept"}`}, {"vary_by_headers", `{"vary_by_headers":["a b"]}`},
			{"vary_by_headers", `{"vary_by_headers":[""]}`}, {"vary_by_headers", `{"vary_by_headers":["Accept","Accept"]}`},
			{"vary_by_subscription", `{"vary_by_subscription":1}`}, {"duration", `{"duration":10}`},
		},
	},
	"cache-store": {
		good: []string{`{"duration":1}`, `{"duration":86400,"max_body_bytes":0}`, `{"duration":300,"max_body_bytes":4194304}`,
			`{"duration":60,"mode":"fixed","cache_response":true}`, `{"duration":60,"mode":"http"}`, `{"duration":60,"mode":""}`},
		bad: []bad{
			{"mode", `{"duration":60,"mode":"apim"}`}, {"cache_response", `{"duration":60,"cache_response":1}`},
			{"duration", `{}`}, {"duration", `{"duration":0}`}, {"duration", `{"duration":86401}`},
			{"duration", `{"duration":"300"}`}, {"max_body_bytes", `{"duration":1,"max_body_bytes":-1}`},
			{"max_body_bytes", `{"duration":1,"max_body_bytes":4194305}`}, {"ttl", `{"duration":1,"ttl":1}`},
		},
	},
	"find-and-replace": {
		good: []string{`{"from":"a","to":""}`, `{"from":"http://in","to":"https://out","phase":"response","max_body_bytes":16777216}`,
			`{"from":"x","to":"y","phase":"","max_body_bytes":1}`},
		bad: []bad{
			{"from", `{"to":"x"}`}, {"from", `{"from":"","to":"x"}`}, {"to", `{"from":"x"}`}, {"to", `{"from":"x","to":1}`},
			{"phase", `{"from":"x","to":"y","phase":"outbound"}`}, {"max_body_bytes", `{"from":"x","to":"y","max_body_bytes":0}`},
			{"max_body_bytes", `{"from":"x","to":"y","max_body_bytes":16777217}`}, {"replace", `{"from":"x","to":"y","replace":"z"}`},
		},
	},
	"json-to-xml": {
		good: []string{`{"apply":"always"}`, `{"apply":"content-type-json","consider_accept_header":false,"parse_date":false,"phase":"response","max_body_bytes":1024}`},
		bad: []bad{
			{"apply", `{}`}, {"apply", `{"apply":""}`}, {"apply", `{"apply":"content-type-xml"}`},
			{"consider_accept_header", `{"apply":"always","consider_accept_header":"true"}`},
			{"parse_date", `{"apply":"always","parse_date":1}`}, {"phase", `{"apply":"always","phase":"both"}`},
			{"max_body_bytes", `{"apply":"always","max_body_bytes":-1}`}, {"namespace_separator", `{"apply":"always","namespace_separator":":"}`},
		},
	},
	"xml-to-json": {
		good: []string{`{"kind":"direct","apply":"always"}`,
			`{"kind":"javascript-friendly","apply":"content-type-xml","consider_accept_header":false,"always_array_child_elements":true,"phase":"response","max_body_bytes":4096}`},
		bad: []bad{
			{"kind", `{"apply":"always"}`}, {"apply", `{"kind":"direct"}`}, {"kind", `{"kind":"friendly","apply":"always"}`},
			{"apply", `{"kind":"direct","apply":"content-type-json"}`},
			{"always_array_child_elements", `{"kind":"direct","apply":"always","always_array_child_elements":"yes"}`},
			{"phase", `{"kind":"direct","apply":"always","phase":"inbound"}`},
			{"max_body_bytes", `{"kind":"direct","apply":"always","max_body_bytes":0}`}, {"always_array", `{"kind":"direct","apply":"always","always_array":true}`},
		},
	},
	"mock-response": {
		good: []string{``, `{}`, `{"status_code":100}`, `{"status_code":404,"content_type":"","example":""}`,
			`{"status_code":200,"content_type":"application/xml","example":"<pet id=\"1\"/>"}`},
		bad: []bad{
			{"status_code", `{"status_code":99}`}, {"status_code", `{"status_code":600}`}, {"status_code", `{"status_code":"200"}`},
			{"content_type", `{"content_type":"a\r\nX: 1"}`}, {"example", `{"example":{"id":1}}`}, {"status", `{"status":200}`},
		},
	},
	"cache-lookup-value": {
		good: []string{`{"key":"k","variable_name":"v"}`, `{"key":"p-{var.user}-{header.X-T}","variable_name":"` + strings.Repeat("v", 128) + `","default_value":""}`,
			`{"key":"k","variable_name":"v","default_value":null}`, `{"key":"{{x}}","variable_name":"v","default_value":"{}"}`},
		bad: []bad{
			{"key", `{"variable_name":"v"}`}, {"key", `{"key":"","variable_name":"v"}`}, {"key", `{"key":"{nope}","variable_name":"v"}`},
			{"variable_name", `{"key":"k"}`}, {"variable_name", `{"key":"k","variable_name":""}`},
			{"variable_name", `{"key":"k","variable_name":"` + strings.Repeat("v", 129) + `"}`},
			{"default_value", `{"key":"k","variable_name":"v","default_value":1}`},
			{"default_value", `{"key":"k","variable_name":"v","default_value":"` + strings.Repeat("d", 65537) + `"}`},
			{"caching_type", `{"key":"k","variable_name":"v","caching_type":"internal"}`},
		},
	},
	"cache-remove-value": {
		good: []string{`{"key":"k"}`, `{"key":"p-{var.user}","phase":"response"}`, `{"key":"{{x}}","phase":""}`},
		bad: []bad{
			{"key", `{}`}, {"key", `{"key":""}`}, {"key", `{"key":"{nope}"}`}, {"phase", `{"key":"k","phase":"outbound"}`},
			{"duration", `{"key":"k","duration":1}`},
		},
	},
	"cache-store-value": {
		good: []string{`{"key":"k","value":"","duration":1}`, `{"key":"p-{var.user}","value":"{var.profile}","duration":86400,"phase":"response"}`},
		bad: []bad{
			{"key", `{"value":"v","duration":1}`}, {"key", `{"key":"","value":"v","duration":1}`}, {"key", `{"key":"{","value":"v","duration":1}`},
			{"value", `{"key":"k","duration":1}`}, {"value", `{"key":"k","value":"{var.}","duration":1}`},
			{"duration", `{"key":"k","value":"v"}`}, {"duration", `{"key":"k","value":"v","duration":0}`},
			{"duration", `{"key":"k","value":"v","duration":86401}`}, {"phase", `{"key":"k","value":"v","duration":1,"phase":"x"}`},
		},
	},
	"rate-limit-by-key": {
		good: []string{
			`{"calls":1,"renewal_period":1,"counter_key":""}`, `{"calls":5,"renewal_period":60,"counter_key":"ip","sliding":true}`,
			`{"calls":5,"renewal_period":60,"counter_key":"header:X-Tenant","increment_condition":["2xx","304"]}`,
			`{"calls":5,"renewal_period":60,"counter_key":"var:` + strings.Repeat("v", 128) + `","increment_condition":[]}`,
			`{"calls":5,"renewal_period":60,"counter_key":"claim:sub","claims_variable":"claims"}`,
			`{"calls":5,"renewal_period":60,"counter_key":"ip","increment_count":5}`,
			`{"calls":5,"renewal_period":60,"counter_key":"subscription","retry_after_header":"","retry_after_variable":"wait","remaining_calls_header":"X-Left","remaining_calls_variable":"left","total_calls_header":"X-Total"}`,
		},
		bad: []bad{
			{"counter_key", `{"calls":1,"renewal_period":60}`}, {"calls", `{"renewal_period":60,"counter_key":"ip"}`},
			{"renewal_period", `{"calls":1,"counter_key":"ip"}`}, {"calls", `{"calls":0,"renewal_period":60,"counter_key":"ip"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"user"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"header:a b"}`},
			{"counter_key", `{"calls":1,"renewal_period":60,"counter_key":"claim:"}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["2XX"]}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["600"]}`},
			{"increment_condition", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_condition":["200","200"]}`},
			{"claims_variable", `{"calls":1,"renewal_period":60,"counter_key":"ip","claims_variable":""}`},
			{"retry_after_header", `{"calls":1,"renewal_period":60,"counter_key":"ip","retry_after_header":"Connection"}`},
			{"remaining_calls_header", `{"calls":1,"renewal_period":60,"counter_key":"ip","remaining_calls_header":"a b"}`},
			{"total_calls_header", `{"calls":1,"renewal_period":60,"counter_key":"ip","total_calls_header":"Content-Length"}`},
			{"remaining_calls_variable", `{"calls":1,"renewal_period":60,"counter_key":"ip","remaining_calls_variable":"` + strings.Repeat("v", 129) + `"}`},
			{"increment_count", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":0}`},
			{"increment_count", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":"1"}`},
			{"count", `{"calls":1,"renewal_period":60,"counter_key":"ip","count":1}`},
		},
	},
	"limit-concurrency": {
		good: []string{
			`{"max_count":1,"counter_key":""}`, `{"max_count":1,"counter_key":"subscription"}`,
			`{"max_count":100000,"counter_key":"ip"}`, `{"max_count":3,"counter_key":"header:X-Tenant"}`,
			`{"max_count":3,"counter_key":"var:` + strings.Repeat("v", 128) + `"}`,
			`{"max_count":3,"counter_key":"claim:sub","claims_variable":"claims"}`,
		},
		bad: []bad{
			{"counter_key", `{"max_count":1}`}, {"max_count", `{"counter_key":"ip"}`},
			{"max_count", `{"max_count":0,"counter_key":"ip"}`}, {"max_count", `{"max_count":-3,"counter_key":"ip"}`},
			{"max_count", `{"max_count":"2","counter_key":"ip"}`}, {"max_count", `{"max_count":1.5,"counter_key":"ip"}`},
			{"counter_key", `{"max_count":1,"counter_key":"user"}`},
			{"counter_key", `{"max_count":1,"counter_key":"header:a b"}`},
			{"counter_key", `{"max_count":1,"counter_key":"claim:"}`},
			{"claims_variable", `{"max_count":1,"counter_key":"ip","claims_variable":""}`},
			{"key", `{"max_count":1,"counter_key":"ip","key":"x"}`},
		},
	},
	"check-header": {
		good: []string{
			`{"name":"X-Api-Version"}`, `{"name":"Connection"}`,
			`{"name":"X-V","values":["1","2",""],"ignore_case":true,"failed_check_httpcode":400,"failed_check_error_message":""}`,
			`{"name":"X-V","failed_check_httpcode":599}`,
		},
		bad: []bad{
			{"name", `{}`}, {"name", `{"name":""}`}, {"name", `{"name":"X V"}`},
			{"values", `{"name":"X","values":"1"}`}, {"values", `{"name":"X","values":["a\nb"]}`},
			{"failed_check_httpcode", `{"name":"X","failed_check_httpcode":399}`},
			{"failed_check_httpcode", `{"name":"X","failed_check_httpcode":600}`},
			{"failed_check_httpcode", `{"name":"X","failed_check_httpcode":200}`},
			{"failed_check_error_message", `{"name":"X","failed_check_error_message":5}`},
			{"value", `{"name":"X","value":"1"}`},
		},
	},
	"ip-filter": {
		good: []string{
			`{"action":"allow","addresses":["203.0.113.7"]}`, `{"action":"forbid","addresses":["2001:db8::1","::ffff:1.2.3.4"]}`,
			`{"action":"allow","address_ranges":[{"from":"10.0.0.1","to":"10.0.0.99"}]}`,
			`{"action":"allow","cidrs":["192.168.0.0/16","2001:db8::/32"]}`,
			`{"action":"allow","addresses":[],"cidrs":["10.0.0.0/8"]}`,
			`{"action":"allow","addresses":["203.0.113.7"],"trusted_proxies":["10.0.0.0/8","192.0.2.10","2001:db8::/32"]}`,
			`{"action":"forbid","cidrs":["198.51.100.0/24"],"trusted_proxies":[],"forwarded_header":"X-Azure-ClientIP"}`,
		},
		bad: []bad{
			{"action", `{"addresses":["1.2.3.4"]}`}, {"action", `{"action":"deny","addresses":["1.2.3.4"]}`},
			{"addresses", `{"action":"allow"}`}, {"addresses", `{"action":"allow","addresses":[]}`},
			{"addresses", `{"action":"allow","addresses":["example.com"]}`},
			{"addresses", `{"action":"allow","addresses":["fe80::1%eth0"]}`},
			{"addresses", `{"action":"allow","addresses":"1.2.3.4"}`},
			{"address_ranges", `{"action":"allow","address_ranges":[{"from":"10.0.0.1"}]}`},
			{"address_ranges", `{"action":"allow","address_ranges":[{"from":"10.0.0.1","to":"10.0.0.9","step":1}]}`},
			{"cidrs", `{"action":"allow","cidrs":["10.0.0.0"]}`}, {"cidrs", `{"action":"allow","cidrs":["10.0.0.0/x"]}`},
			{"trusted_proxies", `{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["proxy.example"]}`},
			{"trusted_proxies", `{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":"10.0.0.1"}`},
			{"trusted_proxies", `{"action":"allow","addresses":["1.2.3.4"],"trusted_proxies":["10.0.0.0/x"]}`},
			{"forwarded_header", `{"action":"allow","addresses":["1.2.3.4"],"forwarded_header":""}`},
			{"forwarded_header", `{"action":"allow","addresses":["1.2.3.4"],"forwarded_header":"X Forwarded"}`},
		},
	},
	"cors": {
		good: []string{
			`{"allowed_origins":"*"}`, `{"allowed_origins":["*"]}`, `{"allowed_origins":["*","*"]}`,
			`{"allowed_origins":["https://app.example.com","http://localhost:3000"],"allow_credentials":true}`,
			`{"allowed_origins":"*","allow_credentials":false,"allowed_methods":["*"],"allowed_headers":["*"]}`,
			`{"allowed_origins":["https://a.example"],"allowed_methods":[],"allowed_headers":["Content-Type"],"expose_headers":["X-Id"],"preflight_result_max_age":86400}`,
			`{"allowed_origins":"*","expose_headers":["*"]}`,
		},
		bad: []bad{
			{"allowed_origins", `{}`}, {"allowed_origins", `{"allowed_origins":[]}`},
			{"allowed_origins", `{"allowed_origins":"https://a.example"}`},
			{"allowed_origins", `{"allowed_origins":["https://a.example/"]}`},
			{"allowed_origins", `{"allowed_origins":["https://a.example/path"]}`},
			{"allowed_origins", `{"allowed_origins":["a.example"]}`}, {"allowed_origins", `{"allowed_origins":["null"]}`},
			{"allowed_origins", `{"allowed_origins":["https://u@a.example"]}`},
			{"allowed_origins", `{"allowed_origins":["*","https://a.example"]}`},
			{"allow_credentials", `{"allowed_origins":"*","allow_credentials":true}`},
			{"allow_credentials", `{"allowed_origins":["*"],"allow_credentials":true}`},
			{"allowed_methods", `{"allowed_origins":"*","allowed_methods":["GET","*"]}`},
			{"allowed_methods", `{"allowed_origins":"*","allowed_methods":["GE T"]}`},
			{"allowed_headers", `{"allowed_origins":"*","allowed_headers":["*","X-A"]}`},
			{"expose_headers", `{"allowed_origins":"*","expose_headers":["X A"]}`},
			{"preflight_result_max_age", `{"allowed_origins":"*","preflight_result_max_age":86401}`},
			{"preflight_result_max_age", `{"allowed_origins":"*","preflight_result_max_age":-1}`},
			{"max_age", `{"allowed_origins":"*","max_age":1}`},
		},
	},
	"set-query-parameter": {
		good: []string{
			`{"name":"api-version","value":"2024-01-01"}`, `{"name":"a","value":""}`, `{"name":"a","values":["1","2"]}`,
			`{"name":"a","values":[""]}`, `{"name":"a b&c","value":"x","exists_action":"append"}`,
			`{"name":"debug","exists_action":"delete"}`, `{"name":"a","value":"x","exists_action":""}`,
		},
		bad: []bad{
			{"name", `{"value":"x"}`}, {"name", `{"name":"","value":"x"}`}, {"value", `{"name":"a"}`},
			{"values", `{"name":"a","values":[]}`}, {"value", `{"name":"a","value":"x","values":["y"]}`},
			{"value", `{"name":"a","exists_action":"delete","value":"x"}`},
			{"values", `{"name":"a","exists_action":"delete","values":[]}`},
			{"exists_action", `{"name":"a","value":"x","exists_action":"set"}`},
			{"values", `{"name":"a","values":"x"}`}, {"phase", `{"name":"a","value":"x","phase":"request"}`},
		},
	},
	"rewrite-uri": {
		good: []string{
			`{"template":"/"}`, `{"template":"/v2/users/{id}/profile?source=gateway"}`,
			`{"template":"/search","copy_unmatched_params":false}`, `{"template":"/a/{{literal}}/b"}`,
			`{"template":"/files/.../a..b/.x"}`, `{"template":"/a?"}`, `{"template":"/a?x={id}&y=%20&&z"}`,
			`{"template":"/a?x=1?2=3"}`, `{"template":"/a?k%41=v"}`,
		},
		bad: []bad{
			{"template", `{}`}, {"template", `{"template":""}`}, {"template", `{"template":"users"}`},
			{"template", `{"template":"/a%2Fb"}`}, {"template", `{"template":"/a\\b"}`}, {"template", `{"template":"/a#b"}`},
			{"template", `{"template":"/a/../b"}`}, {"template", `{"template":"/a/."}`}, {"template", `{"template":"/a/..;x/b"}`},
			{"template", `{"template":"/a/./?x=1"}`},
			{"template", `{"template":"/a/{id"}`}, {"template", `{"template":"/a/id}"}`}, {"template", `{"template":"/a/{}"}`},
			{"template", `{"template":"/a?x=a b"}`}, {"template", `{"template":"/a?{k}=1"}`}, {"template", `{"template":"/a?k%zz=1"}`},
			{"template", `{"template":"/a\u0001"}`}, {"copy_unmatched_params", `{"template":"/","copy_unmatched_params":"no"}`},
		},
	},
	"set-status": {
		good: []string{`{"code":100}`, `{"code":599,"reason":"Whatever"}`, `{"code":503,"reason":"` + strings.Repeat("r", 256) + `"}`},
		bad: []bad{
			{"code", `{}`}, {"code", `{"code":99}`}, {"code", `{"code":600}`}, {"code", `{"code":"200"}`},
			{"reason", `{"code":200,"reason":"a\nb"}`}, {"reason", `{"code":200,"reason":"` + strings.Repeat("r", 257) + `"}`},
			{"status", `{"status":200}`},
		},
	},
	"set-backend-service": {
		good: []string{
			`{"base_url":"https://eu.backend.example.com"}`, `{"base_url":"http://127.0.0.1:8080/v2/"}`,
			`{"base_url":"HTTPS://[::1]:8443/api"}`, `{"base_url":"http://backend/` + strings.Repeat("p", 2000) + `"}`,
		},
		bad: []bad{
			{"base_url", `{}`}, {"base_url", `{"base_url":""}`}, {"base_url", `{"base_url":"ftp://files.example.com"}`},
			{"base_url", `{"base_url":"/relative"}`}, {"base_url", `{"base_url":"https://user:pw@backend.example.com"}`},
			{"base_url", `{"base_url":"https://backend.example.com?a=1"}`}, {"base_url", `{"base_url":"https://backend.example.com/#f"}`},
			{"base_url", `{"base_url":"https://back end.example.com"}`}, {"base_url", `{"base_url":"https://"}`},
			{"base_url", `{"base_url":"http://backend/` + strings.Repeat("p", 2048) + `"}`}, {"base_url", `{"base_url":5}`},
			{"url", `{"url":"https://backend.example.com"}`},
		},
	},
	"forward-request": {
		good: []string{
			``, `{}`, `{"timeout":1}`, `{"timeout":600}`, `{"timeout_ms":1}`, `{"timeout_ms":600000}`,
			`{"timeout":30,"follow_redirects":true,"buffer_request_body":true}`, `{"follow_redirects":false}`,
		},
		bad: []bad{
			{"timeout", `{"timeout":0}`}, {"timeout", `{"timeout":601}`}, {"timeout", `{"timeout":1.5}`}, {"timeout", `{"timeout":"30"}`},
			{"timeout_ms", `{"timeout_ms":0}`}, {"timeout_ms", `{"timeout_ms":600001}`},
			{"", `{"timeout":1,"timeout_ms":1000}`}, {"follow_redirects", `{"follow_redirects":"yes"}`},
			{"buffer_request_body", `{"buffer_request_body":1}`}, {"http_version", `{"http_version":"2"}`},
		},
	},
	"retry": {
		good: []string{
			`{"condition":[503],"count":1,"interval":0}`, `{"condition":[502,503,504],"count":3,"interval":1}`,
			`{"condition":["5xx","429"],"count":50,"interval":300,"delta":1}`,
			`{"condition":[500,"4xx"],"count":10,"interval":10,"delta":10,"max_interval":100,"first_fast_retry":true}`,
			`{"condition":[503],"count":2,"interval":0.25,"retry_non_idempotent":true,"retry_on_error":true}`,
		},
		bad: []bad{
			{"condition", `{"count":1,"interval":1}`}, {"count", `{"condition":[503],"interval":1}`}, {"interval", `{"condition":[503],"count":1}`},
			{"condition", `{"condition":[],"count":1,"interval":1}`}, {"condition", `{"condition":[99],"count":1,"interval":1}`},
			{"condition", `{"condition":[600],"count":1,"interval":1}`}, {"condition", `{"condition":["6xx"],"count":1,"interval":1}`},
			{"condition", `{"condition":["50x"],"count":1,"interval":1}`}, {"condition", `{"condition":[503,503],"count":1,"interval":1}`},
			{"condition", `{"condition":[true],"count":1,"interval":1}`}, {"condition", `{"condition":503,"count":1,"interval":1}`},
			{"count", `{"condition":[503],"count":0,"interval":1}`}, {"count", `{"condition":[503],"count":51,"interval":1}`},
			{"count", `{"condition":[503],"count":1.5,"interval":1}`}, {"interval", `{"condition":[503],"count":1,"interval":-1}`},
			{"interval", `{"condition":[503],"count":1,"interval":301}`}, {"delta", `{"condition":[503],"count":1,"interval":1,"delta":0}`},
			{"max_interval", `{"condition":[503],"count":1,"interval":1,"delta":1,"max_interval":0}`},
			{"max_interval", `{"condition":[503],"count":1,"interval":1,"max_interval":10}`},
			{"first_fast_retry", `{"condition":[503],"count":1,"interval":1,"first_fast_retry":"yes"}`},
			{"when", `{"condition":[503],"count":1,"interval":1,"when":"always"}`},
		},
	},
	"set-method": {
		good: []string{`{"method":"POST"}`, `{"method":"patch"}`, `{"method":"` + strings.Repeat("M", 32) + `"}`},
		bad: []bad{
			{"method", `{}`}, {"method", `{"method":""}`}, {"method", `{"method":"GE T"}`},
			{"method", `{"method":"` + strings.Repeat("M", 33) + `"}`}, {"method", `{"method":["GET"]}`},
		},
	},
	"set-variable": {
		good: []string{
			`{"name":"user","value":"{header.X-User}@{path.tenant}"}`, `{"name":"v","value":""}`,
			`{"name":"v","value":"{{literal}} {request.method} {request.path} {query.a.b} {var.x}","phase":"response"}`,
			`{"name":"` + strings.Repeat("n", 128) + `","value":"x","phase":""}`,
		},
		bad: []bad{
			{"name", `{"value":"x"}`}, {"name", `{"name":"","value":"x"}`}, {"value", `{"name":"v"}`},
			{"name", `{"name":"` + strings.Repeat("n", 129) + `","value":"x"}`},
			{"value", `{"name":"v","value":"{user}"}`}, {"value", `{"name":"v","value":"{header.}"}`},
			{"value", `{"name":"v","value":"{header.a b}"}`}, {"value", `{"name":"v","value":"{var.x"}`},
			{"value", `{"name":"v","value":"x}"}`}, {"value", `{"name":"v","value":"{request.host}"}`},
			{"value", `{"name":"v","value":"{var.` + strings.Repeat("n", 129) + `}"}`},
			{"phase", `{"name":"v","value":"x","phase":"both"}`},
		},
	},
	"return-response": {
		good: []string{
			`{}`, `{"status":100}`, `{"status":503,"headers":{"Retry-After":"120"},"body":"{{\"path\":\"{request.path}\"}}","content_type":"application/json"}`,
			`{"headers":{}}`, `{"body":"","content_type":""}`,
		},
		bad: []bad{
			{"status", `{"status":99}`}, {"status", `{"status":600}`}, {"headers", `{"headers":{"Connection":"close"}}`},
			{"headers", `{"headers":{"":"x"}}`}, {"headers", `{"headers":{"X A":"x"}}`}, {"headers", `{"headers":{"X-A":"a\nb"}}`},
			{"headers", `{"headers":{"X-A":1}}`}, {"headers", `{"headers":["X-A"]}`},
			{"body", `{"body":"{nope}"}`}, {"content_type", `{"content_type":"a\r\nb"}`}, {"code", `{"code":200}`},
		},
	},
	"set-body": {
		good: []string{`{"template":""}`, `{"template":"redacted","phase":"response","content_type":"text/plain"}`,
			`{"template":"{{\"user\":\"{header.X-User}\"}}"}`},
		bad: []bad{
			{"template", `{}`}, {"template", `{"template":"{"}`}, {"template", `{"template":"{path.}"}`},
			{"template", `{"template":1}`}, {"phase", `{"template":"x","phase":"inbound"}`},
			{"content_type", `{"template":"x","content_type":"a\nb"}`}, {"body", `{"body":"x"}`},
		},
	},
	"validate-jwt": {
		good: []string{
			jwt(`"jwks_url":"https://login.example.com/keys"`),
			jwt(`"jwks_url":"http://127.0.0.1:8000/keys","algorithms":["RS256","ES512","PS384"]`),
			jwt(`"hmac_secret":"` + strings.Repeat("s", 32) + `","algorithms":["HS256","HS512"]`),
			jwt(`"hmac_secret_base64":"cmVwbGFjZS1tZS13aXRoLTMyLXJhbmRvbS1ieXRlcyEh","algorithms":["HS384"]`),
			jwt(`"public_key_pem":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"`),
			jwt(`"public_key_pem":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n","hmac_secret":""`),
			jwt(`"jwks_url":"https://x/k","header_name":"X-Token","failed_validation_httpcode":403,"failed_validation_error_message":"no"`),
			jwt(`"jwks_url":"https://x/k","query_parameter_name":"token","header_name":""`),
			jwt(`"jwks_url":"https://x/k","cookie_name":"session","leeway_seconds":300,"output_token_variable_name":"jwt"`),
			jwt(`"jwks_url":"https://x/k","required_claims":{"scp":["read"],"sub":[]}`),
		},
		bad: []bad{
			{"algorithms", `{"issuers":["i"],"audiences":["a"],"jwks_url":"https://x/k"}`},
			{"issuers", `{"algorithms":["RS256"],"audiences":["a"],"jwks_url":"https://x/k"}`},
			{"audiences", `{"algorithms":["RS256"],"issuers":["i"],"jwks_url":"https://x/k"}`},
			{"issuers", jwt(`"jwks_url":"https://x/k","issuers":[]`)},
			{"audiences", jwt(`"jwks_url":"https://x/k","audiences":[""]`)},
			{"algorithms", jwt(`"jwks_url":"https://x/k","algorithms":["none"]`)},
			{"algorithms", jwt(`"jwks_url":"https://x/k","algorithms":["rs256"]`)},
			{"algorithms", jwt(`"jwks_url":"https://x/k","algorithms":["HS256"]`)},
			{"algorithms", jwt(`"hmac_secret":"` + strings.Repeat("s", 32) + `","algorithms":["RS256"]`)},
			{"jwks_url", jwt(``)},
			{"jwks_url", jwt(`"jwks_url":"https://x/k","hmac_secret":"` + strings.Repeat("s", 32) + `"`)},
			{"hmac_secret", jwt(`"hmac_secret":"short","algorithms":["HS256"]`)},
			{"hmac_secret_base64", jwt(`"hmac_secret_base64":"c2hvcnQ=","algorithms":["HS256"]`)},
			{"public_key_pem", jwt(`"public_key_pem":"not a key"`)},
			{"jwks_url", jwt(`"jwks_url":"ftp://x/k"`)}, {"jwks_url", jwt(`"jwks_url":"keys.json"`)},
			// Keys fetched in clear text could be replaced in transit.
			{"jwks_url", jwt(`"jwks_url":"http://idp/keys"`)}, {"jwks_url", jwt(`"jwks_url":"http://127.example.com/keys"`)},
			{"cookie_name", jwt(`"jwks_url":"https://x/k","header_name":"X-A","cookie_name":"c"`)},
			{"cookie_name", jwt(`"jwks_url":"https://x/k","query_parameter_name":"t","cookie_name":"c"`)},
			{"query_parameter_name", jwt(`"jwks_url":"https://x/k","query_parameter_name":"t","header_name":"Authorization"`)},
			{"header_name", jwt(`"jwks_url":"https://x/k","header_name":"X A"`)},
			{"cookie_name", jwt(`"jwks_url":"https://x/k","cookie_name":"a;b"`)},
			{"failed_validation_httpcode", jwt(`"jwks_url":"https://x/k","failed_validation_httpcode":302`)},
			{"leeway_seconds", jwt(`"jwks_url":"https://x/k","leeway_seconds":301`)},
			{"leeway_seconds", jwt(`"jwks_url":"https://x/k","leeway_seconds":-1`)},
			{"output_token_variable_name", jwt(`"jwks_url":"https://x/k","output_token_variable_name":"` + strings.Repeat("v", 129) + `"`)},
			{"required_claims", jwt(`"jwks_url":"https://x/k","required_claims":{"":["x"]}`)},
			{"required_claims", jwt(`"jwks_url":"https://x/k","required_claims":{"scp":"read"}`)},
			{"issuer", jwt(`"jwks_url":"https://x/k","issuer":"i"`)},
		},
	},
}

// jwt is a validate-jwt config with algorithms RS256, issuers and
// audiences, and the given fields (which may override algorithms).
func jwt(fields string) string {
	base := map[string]json.RawMessage{
		"algorithms": json.RawMessage(`["RS256"]`), "issuers": json.RawMessage(`["https://issuer/"]`),
		"audiences": json.RawMessage(`["api://pets"]`),
	}
	if fields != "" {
		var extra map[string]json.RawMessage
		if err := json.Unmarshal([]byte("{"+fields+"}"), &extra); err != nil {
			panic(err)
		}
		for k, v := range extra {
			base[k] = v
		}
	}
	b, _ := json.Marshal(base)
	return string(b)
}

// TestCrossCheck checks the schemas against the real config parsers.
func TestCrossCheck(t *testing.T) {
	for _, p := range embedded.Policies() {
		tc, ok := cases[p.Name]
		if !ok {
			t.Errorf("%s: no cross-check cases", p.Name)
			continue
		}
		if len(tc.good) == 0 || len(tc.bad) == 0 {
			t.Errorf("%s: needs good and bad cases", p.Name)
		}
		newPolicy := factory(t, p.Name)
		for _, c := range tc.good {
			js := c
			if js == "" {
				js = "{}" // the gateway sends "{}" for an attachment without config
			}
			if err := validate(t, p.Name, js); err != nil {
				t.Errorf("%s: schema refuses good config %s: %v", p.Name, c, err)
			}
			if _, err := newPolicy([]byte(c)); err != nil {
				t.Errorf("%s: factory refuses good config %s: %v", p.Name, c, err)
			}
		}
		for _, c := range tc.bad {
			err := validate(t, p.Name, c.config)
			if err == nil {
				t.Errorf("%s: schema accepts bad config %s", p.Name, c.config)
			} else if !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s: schema error for %s does not name %s: %v", p.Name, c.config, c.field, err)
			}
			if _, err := newPolicy([]byte(c.config)); err == nil {
				t.Errorf("%s: factory accepts bad config %s", p.Name, c.config)
			}
		}
	}
}

// divergences are the known places where the schema and the parser
// disagree. The schema may be looser (the guest refuses the config when it
// builds the policy); where it is stricter, the report explains why.
var divergences = []struct {
	policy, config      string
	schemaOK, factoryOK bool
	why                 string
}{
	// Looser schemas: checks a JSON Schema cannot express.
	{"ip-filter", `{"action":"allow","address_ranges":[{"from":"10.0.0.9","to":"10.0.0.1"}]}`, true, false, "range order"},
	{"ip-filter", `{"action":"allow","address_ranges":[{"from":"10.0.0.1","to":"::1"}]}`, true, false, "range family"},
	{"ip-filter", `{"action":"allow","addresses":["1.2.3"]}`, true, false, "address syntax (pattern is a superset)"},
	{"ip-filter", `{"action":"allow","cidrs":["::ffff:10.0.0.0/104"]}`, true, false, "IPv4-mapped prefix"},
	{"ip-filter", `{"action":"allow","cidrs":["10.0.0.0/8"],"trusted_proxies":["10.0.0.0/33"]}`, true, false, "trusted proxy prefix length"},
	{"cache-lookup", `{"vary_by_headers":["accept","Accept"]}`, true, false, "duplicates compared case-insensitively"},
	{"cors", `{"allowed_origins":["https://a b"]}`, true, false, "url.Parse host syntax"},
	{"set-query-parameter", `{"name":"a","value":"` + strings.Repeat("x", 9000) + `"}`, true, false, "8 KiB query"},
	{"validate-jwt", jwt(`"hmac_secret_base64":"` + strings.Repeat("!", 44) + `","algorithms":["HS256"]`), true, false, "base64 syntax"},
	{"validate-jwt", jwt(`"public_key_pem":"-----BEGIN PUBLIC KEY-----"`), true, false, "PEM structure"},
	{"validate-jwt", jwt(`"hmac_secret":"ééééééééé","algorithms":["HS256"]`), true, false, "secret length in bytes (9 runes, 18 bytes)"},
	{"set-variable", `{"name":"` + strings.Repeat("é", 100) + `","value":"x"}`, true, false, "name length in bytes"},
	{"set-status", `{"code":200,"reason":"` + strings.Repeat("é", 200) + `"}`, true, false, "reason length in bytes"},
	{"rate-limit", `{"calls":1.0,"renewal_period":60}`, true, false, "1.0 is an integer to JSON Schema, not to encoding/json"},
	{"cache-lookup-value", `{"key":"k","variable_name":"` + strings.Repeat("é", 100) + `"}`, true, false, "name length in bytes"},
	{"rate-limit-by-key", `{"calls":1,"renewal_period":60,"counter_key":"ip","retry_after_variable":"` + strings.Repeat("é", 100) + `"}`, true, false, "name length in bytes"},
	{"rate-limit-by-key", `{"calls":1,"renewal_period":60,"counter_key":"ip","increment_count":2}`, true, false, "increment_count at most calls"},
	{"mock-response", `{"example":"` + strings.Repeat("é", 600000) + `"}`, true, false, "example length in bytes"},
	// Stricter schemas: encoding/json leniencies the schema does not copy.
	{"rate-limit", `{"calls":1,"renewal_period":60,"counter_key":null}`, false, true, "null is an absent field to encoding/json"},
	{"set-header", `{"name":"X-A","value":"b","phase":null}`, false, true, "null is an absent field to encoding/json"},
	{"rate-limit", `{"Calls":1,"Renewal_Period":60}`, false, true, "encoding/json matches field names case-insensitively"},
	{"check-header", `{"name":"X","values":[null]}`, false, true, "a null item is an empty string to encoding/json"},
}

func TestDivergences(t *testing.T) {
	for _, d := range divergences {
		err := validate(t, d.policy, d.config)
		_, ferr := factory(t, d.policy)([]byte(d.config))
		if (err == nil) != d.schemaOK || (ferr == nil) != d.factoryOK {
			t.Errorf("%s %.80s (%s): schema accepts %v, factory accepts %v; documented %v, %v (schema: %v, factory: %v)",
				d.policy, d.config, d.why, err == nil, ferr == nil, d.schemaOK, d.factoryOK, err, ferr)
		}
	}
}

// TestPatternsNoStricter compares the grammar patterns with the parsers on
// random strings: the rewrite-uri template and the template language
// (set-variable) must agree exactly, the counter_key exactly, and a cors
// origin the parser accepts must match the pattern.
func TestPatternsNoStricter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(alphabet []string, prefix string) string {
		var b strings.Builder
		b.WriteString(prefix)
		for n := r.IntN(10); n > 0; n-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	type check struct {
		policy   string
		alphabet []string
		prefix   string
		config   func(string) string
		exact    bool
	}
	checks := []check{
		{"rewrite-uri", []string{"/", "{", "}", "?", "&", "=", ".", ";", "a", "id", "%", "%2F", "%4", " ", "#", "\\", "\x01", "{id}", "é"}, "",
			func(s string) string { return `{"template":` + str(s) + `}` }, true},
		{"rewrite-uri", []string{"/", "{", "}", "?", "&", "=", ".", ";", "a", "%41", "%", " ", "{id}", ".."}, "/",
			func(s string) string { return `{"template":` + str(s) + `}` }, true},
		{"set-variable", []string{"{", "}", "header.", "query.", "path.", "var.", "request.", "method", "path", "a", ".", " ", "\t", "\f", "\x00", "é", "X-A", "(", ":"}, "",
			func(s string) string { return `{"name":"v","value":` + str(s) + `}` }, true},
		{"rate-limit", []string{"subscription", "ip", "header:", "var:", "a", " ", ":", "X-A", "é"}, "",
			func(s string) string { return `{"calls":1,"renewal_period":1,"counter_key":` + str(s) + `}` }, true},
		{"quota-by-key", []string{"subscription", "ip", "header:", "var:", "claim:", "a", " ", ":", "X-A", "é"}, "",
			func(s string) string { return `{"calls":1,"renewal_period":1,"counter_key":` + str(s) + `}` }, true},
		{"rate-limit-by-key", []string{"subscription", "ip", "header:", "var:", "claim:", "a", " ", ":", "X-A", "é"}, "",
			func(s string) string { return `{"calls":1,"renewal_period":1,"counter_key":` + str(s) + `}` }, true},
		{"limit-concurrency", []string{"subscription", "ip", "header:", "var:", "claim:", "a", " ", ":", "X-A", "é"}, "",
			func(s string) string { return `{"max_count":1,"counter_key":` + str(s) + `}` }, true},
		{"cache-store-value", []string{"{", "}", "header.", "query.", "path.", "var.", "request.", "method", "path", "a", ".", " ", "\x00", "é", "X-A"}, "",
			func(s string) string { return `{"key":"k","duration":1,"value":` + str(s) + `}` }, true},
		{"cors", []string{"https", "http", "://", ":", "/", "?", "#", "@", "a", ".", "8080", " ", "%", "[::1]", "*", "null", "+"}, "",
			func(s string) string { return `{"allowed_origins":[` + str(s) + `]}` }, false},
	}
	for _, c := range checks {
		newPolicy := factory(t, c.policy)
		accepted := 0
		for i := 0; i < 20000; i++ {
			cfg := c.config(gen(c.alphabet, c.prefix))
			serr := validate(t, c.policy, cfg)
			_, ferr := newPolicy([]byte(cfg))
			if ferr == nil && serr != nil {
				t.Errorf("%s: schema refuses %s, the parser accepts it: %v", c.policy, cfg, serr)
			}
			if c.exact && ferr != nil && serr == nil {
				t.Errorf("%s: schema accepts %s, the parser refuses it: %v", c.policy, cfg, ferr)
			}
			if ferr == nil {
				accepted++
			}
		}
		t.Logf("%s (prefix %q): %d of 20000 accepted by the parser", c.policy, c.prefix, accepted)
		if accepted < 100 {
			t.Errorf("%s: too few accepted samples to mean anything", c.policy)
		}
	}
}

// TestCombinations builds every combination of a few values per field
// (absent included) for the policies whose rules tie fields together, and
// checks that the schema and the factory agree on each.
func TestCombinations(t *testing.T) {
	type field struct {
		name   string
		values []string // raw JSON; "" means absent
	}
	secret := `"` + strings.Repeat("s", 32) + `"`
	combos := []struct {
		policy string
		fields []field
	}{
		{"quota", []field{
			{"calls", []string{"", `0`, `1`}},
			{"bandwidth", []string{"", `0`, `1`}},
			{"renewal_period", []string{"", `60`}},
		}},
		{"set-header", []field{
			{"name", []string{"", `"X-A"`, `"Te"`}},
			{"value", []string{"", `""`, `"x"`}},
			{"exists_action", []string{"", `""`, `"override"`, `"skip"`, `"append"`, `"delete"`, `"Delete"`}},
			{"phase", []string{"", `""`, `"request"`, `"response"`, `"x"`}},
		}},
		{"set-query-parameter", []field{
			{"name", []string{"", `""`, `"a"`}},
			{"value", []string{"", `""`, `"x"`}},
			{"values", []string{"", `[]`, `[""]`, `["a","b"]`}},
			{"exists_action", []string{"", `""`, `"override"`, `"skip"`, `"append"`, `"delete"`}},
		}},
		{"cors", []field{
			{"allowed_origins", []string{"", `"*"`, `"x"`, `[]`, `["*"]`, `["*","*"]`, `["https://a.b"]`, `["https://a.b","*"]`}},
			{"allow_credentials", []string{"", `false`, `true`}},
			{"allowed_methods", []string{"", `[]`, `["*"]`, `["get"]`, `["*","GET"]`}},
			{"allowed_headers", []string{"", `["*"]`, `["X-A","*"]`}},
		}},
		{"ip-filter", []field{
			{"action", []string{"", `"allow"`, `"forbid"`, `""`}},
			{"addresses", []string{"", `[]`, `["1.2.3.4"]`}},
			{"address_ranges", []string{"", `[]`, `[{"from":"::1","to":"::2"}]`}},
			{"cidrs", []string{"", `[]`, `["10.0.0.0/8"]`}},
		}},
		{"validate-jwt", []field{
			{"algorithms", []string{`["HS256"]`, `["RS256"]`, `["HS256","RS256"]`}},
			{"issuers", []string{`["i"]`}},
			{"audiences", []string{`["a"]`}},
			{"header_name", []string{"", `""`, `"X-T"`}},
			{"query_parameter_name", []string{"", `""`, `"t"`}},
			{"cookie_name", []string{"", `""`, `"c"`}},
			{"hmac_secret", []string{"", `""`, secret}},
			{"hmac_secret_base64", []string{"", `""`, `"cmVwbGFjZS1tZS13aXRoLTMyLXJhbmRvbS1ieXRlcyEh"`}},
			{"public_key_pem", []string{"", `""`, `"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"`}},
			{"jwks_url", []string{"", `""`, `"https://x/k"`}},
		}},
	}
	for _, c := range combos {
		newPolicy := factory(t, c.policy)
		n, ok := 0, 0
		idx := make([]int, len(c.fields))
		for {
			var parts []string
			for i, f := range c.fields {
				if v := f.values[idx[i]]; v != "" {
					parts = append(parts, `"`+f.name+`":`+v)
				}
			}
			cfg := "{" + strings.Join(parts, ",") + "}"
			serr := validate(t, c.policy, cfg)
			_, ferr := newPolicy([]byte(cfg))
			n++
			if ferr == nil {
				ok++
			}
			if (serr == nil) != (ferr == nil) {
				t.Errorf("%s %s: schema accepts %v, factory accepts %v (schema: %v, factory: %v)",
					c.policy, cfg, serr == nil, ferr == nil, serr, ferr)
			}
			i := len(idx) - 1
			for ; i >= 0; i-- {
				if idx[i]++; idx[i] < len(c.fields[i].values) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
		t.Logf("%s: %d combinations, %d accepted", c.policy, n, ok)
	}
}
