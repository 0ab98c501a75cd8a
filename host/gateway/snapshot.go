package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/engine"
)

// section indexes.
const (
	secInbound = iota
	secBackend
	secOutbound
	secOnError
	numSections
)

var sectionNames = [numSections]string{"inbound", "backend", "outbound", "on-error"}

func (p *Policy) section(i int) []Step {
	var s []Step
	switch i {
	case secInbound:
		s = p.Inbound
	case secBackend:
		s = p.Backend
	case secOutbound:
		s = p.Outbound
	default:
		s = p.OnError
	}
	return s
}

// MergeSection applies APIM `base` semantics to one section: the child's
// steps with its base step replaced by the parent's effective steps. A nil
// child means the scope does not mention the section, which inherits the
// parent's as it is; an empty, non-nil child replaces it with nothing.
func MergeSection(parent, child []Step) []Step {
	if child == nil {
		return parent
	}
	out := make([]Step, 0, len(parent)+len(child))
	for _, s := range child {
		if s.Base {
			out = append(out, parent...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// stage is one engine call: a plan of one or more steps of one module.
// reruns are the built-in policies that may ask the host to re-run their
// stage (cache-lookup's cache_fill_lease: stampede protection). A stage
// holds at most one of them, and its re-run plan (stage.rerun) starts at
// that policy: the SDK ends the plan right after the policy that asked, so
// the policies after it run once, on the re-run, and the ones before it
// (a subscription-key, a rate-limit) are not run, counted or applied twice.
// Batching is otherwise unchanged: no extra guest call on the hot path.
//
// ABI v1.2: no policy is known by name here any more; a guest reports the
// attachment that asked with abi.FlagRerunFrom and the re-run starts there
// (proxy.go, engine.Module.SuffixPlan). A guest that does not (v1.0/v1.1)
// gets its whole stage re-run.
var reruns = map[string]bool{}

type stage struct {
	mod      *engine.Module
	plan     *engine.Plan
	rerun    *engine.Plan // what a fill-wait re-run calls: plan, or its suffix from the reruns policy
	failMode string
	fallback *Fallback
	opts     engine.CallOptions
	label    string // for logs: module/policy[,policy]
	met      StageMetrics
	// only and except are the step's product conditions (Step.Products,
	// Step.ExceptProducts); cond is their canonical form, so that only
	// steps with equal conditions share a stage.
	only, except []string
	cond         string
	// trace describes the stage's policies in console traces (trace.go).
	trace []TracePolicy
	// body: which bodies the stage's policies may read (body.go).
	body bodyUse
}

// skip reports whether the stage's product condition excludes this call.
func (st *stage) skip(ex *engine.Exchange) bool {
	if st.cond == "" {
		return false
	}
	p := ""
	if ex.Subscription != nil {
		p = ex.Subscription.Product
	}
	if st.only != nil {
		return !slices.Contains(st.only, p)
	}
	return slices.Contains(st.except, p)
}

func condKey(st Step) string {
	if len(st.Products) == 0 && len(st.ExceptProducts) == 0 {
		return ""
	}
	return strings.Join(st.Products, ",") + "|" + strings.Join(st.ExceptProducts, ",")
}

// chain is the effective policy of one operation, as stages per section.
type chain [numSections][]*stage

// route is what a matched request runs.
type route struct {
	api      *apiState
	opID     string
	tmpl     string
	chain    *chain // shared by the routes of an API that inherit its chain
	catchAll bool
	met      RouteMetrics
}

func (r *route) ServeHTTP(http.ResponseWriter, *http.Request) {}

type apiState struct {
	cfg       *API   // the part's API (apiPart.api)
	prefix    string // PathPrefix without a trailing slash
	backend   *url.URL
	bodyLimit int64
	timeout   time.Duration
	sensitive []string          // lower-case query names redacted in call records
	keys      learnedKeys       // query names its subscription checks read (keyquery.go)
	egress    *rule.Scope       // what the API's backends may reach (egress.go)
	transport http.RoundTripper // dials through egress
	// secrets are the values of secret named values the config's
	// policies reference (Config.SecretValues), shared by every API of
	// the snapshot: console traces never show them.
	secrets []string
	// clientCert validates client certificates (clientcert.go); nil: none.
	clientCert *clientCertRule
}

// preflightRoute finds the API-level route for a CORS preflight to path.
func (s *snapshot) preflightRoute(path string) *route {
	return s.routes.preflightRoute(path)
}

// snapshot is an immutable generation of everything a request needs. It is
// reference-counted: the gateway holds one reference while it is current and
// each request holds one while it runs; the last release closes it.
type snapshot struct {
	version int64
	// routes finds a request's route by path prefix, then within its API
	// (router.go); it also holds the API-level routes for CORS preflights.
	routes *routeIndex
	subs   map[string]StaticSubscription
	refs   atomic.Int64
	mods   []*moduleRef
	// parts are the compiled APIs, shared with the snapshots before and
	// after this one while unchanged (build.go); byName indexes them.
	parts   []*apiPart
	byName  map[string]*apiPart
	shared  sharedInputs
	reused  int // parts taken over from the previous snapshot
	built   time.Time
	onClose func()
	// egressKeys name the backend transports this snapshot's APIs use.
	egressKeys map[string]bool
	// needClientCert: an API validates client certificates (clientcert.go).
	needClientCert bool
}

func (s *snapshot) tryAcquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 {
		for _, p := range s.parts {
			p.release()
		}
		for _, m := range s.mods {
			m.release()
		}
		if s.onClose != nil {
			s.onClose()
		}
	}
}
