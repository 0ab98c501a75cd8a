// Command builtin is the module of Gatehouse's built-in policies, the one the
// gateway embeds: every built-in policy (see plugins/README.md) in one
// WebAssembly module (one module costs far less memory
// per instance than one module per policy). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o builtin.wasm ./plugins/builtin
package main

import (
	"github.com/gatehouse/gatehouse/plugins/cachelookup"
	"github.com/gatehouse/gatehouse/plugins/cachelookupvalue"
	"github.com/gatehouse/gatehouse/plugins/cacheremovevalue"
	"github.com/gatehouse/gatehouse/plugins/cachestore"
	"github.com/gatehouse/gatehouse/plugins/cachestorevalue"
	"github.com/gatehouse/gatehouse/plugins/checkheader"
	"github.com/gatehouse/gatehouse/plugins/cors"
	"github.com/gatehouse/gatehouse/plugins/findandreplace"
	"github.com/gatehouse/gatehouse/plugins/forwardrequest"
	"github.com/gatehouse/gatehouse/plugins/ipfilter"
	"github.com/gatehouse/gatehouse/plugins/jsontoxml"
	"github.com/gatehouse/gatehouse/plugins/limitconcurrency"
	"github.com/gatehouse/gatehouse/plugins/mockresponse"
	"github.com/gatehouse/gatehouse/plugins/quota"
	"github.com/gatehouse/gatehouse/plugins/quotabykey"
	"github.com/gatehouse/gatehouse/plugins/ratelimit"
	"github.com/gatehouse/gatehouse/plugins/ratelimitbykey"
	"github.com/gatehouse/gatehouse/plugins/retry"
	"github.com/gatehouse/gatehouse/plugins/returnresponse"
	"github.com/gatehouse/gatehouse/plugins/rewriteuri"
	"github.com/gatehouse/gatehouse/plugins/setbackendservice"
	"github.com/gatehouse/gatehouse/plugins/setbody"
	"github.com/gatehouse/gatehouse/plugins/setheader"
	"github.com/gatehouse/gatehouse/plugins/setmethod"
	"github.com/gatehouse/gatehouse/plugins/setqueryparameter"
	"github.com/gatehouse/gatehouse/plugins/setstatus"
	"github.com/gatehouse/gatehouse/plugins/setvariable"
	"github.com/gatehouse/gatehouse/plugins/subscriptionkey"
	"github.com/gatehouse/gatehouse/plugins/validatejwt"
	"github.com/gatehouse/gatehouse/plugins/xmltojson"
	"github.com/gatehouse/gatehouse/sdk"
)

func init() {
	sdk.Register(setheader.Name, setheader.New)
	sdk.Register(ratelimit.Name, ratelimit.New)
	sdk.Register(quota.Name, quota.New)
	sdk.Register(quotabykey.Name, quotabykey.New)
	sdk.Register(subscriptionkey.Name, subscriptionkey.New)
	sdk.Register(cachelookup.Name, cachelookup.New)
	sdk.Register(cachestore.Name, cachestore.New)
	sdk.Register(setqueryparameter.Name, setqueryparameter.New)
	sdk.Register(rewriteuri.Name, rewriteuri.New)
	sdk.Register(setstatus.Name, setstatus.New)
	sdk.Register(setmethod.Name, setmethod.New)
	sdk.Register(setvariable.Name, setvariable.New)
	sdk.Register(returnresponse.Name, returnresponse.New)
	sdk.Register(setbody.Name, setbody.New)
	sdk.Register(validatejwt.Name, validatejwt.New)
	sdk.Register(checkheader.Name, checkheader.New)
	sdk.Register(ipfilter.Name, ipfilter.New)
	sdk.Register(cors.Name, cors.New)
	sdk.Register(findandreplace.Name, findandreplace.New)
	sdk.Register(jsontoxml.Name, jsontoxml.New)
	sdk.Register(xmltojson.Name, xmltojson.New)
	sdk.Register(mockresponse.Name, mockresponse.New)
	sdk.Register(cachelookupvalue.Name, cachelookupvalue.New)
	sdk.Register(cachestorevalue.Name, cachestorevalue.New)
	sdk.Register(cacheremovevalue.Name, cacheremovevalue.New)
	sdk.Register(ratelimitbykey.Name, ratelimitbykey.New)
	sdk.Register(setbackendservice.Name, setbackendservice.New)
	sdk.Register(forwardrequest.Name, forwardrequest.New)
	sdk.Register(retry.Name, retry.New)
	sdk.Register(limitconcurrency.Name, limitconcurrency.New)
}

func main() {}
