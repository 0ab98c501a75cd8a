package gateway

import (
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/host/engine"
)

// Query parameters that carry subscription keys are redacted from call
// records by what the host saw, not by a policy's name or config (ABI
// v1.2): subscription_check records the query parameter it was asked to
// take a key from (engine.Exchange.KeyQueryParams), whichever module made
// the call. The API also learns the name, so later calls that are answered
// before their key check ran (an IP filter, a rate limit) redact it too.

// learnedKeys are the lower-case query names an API's key checks read.
type learnedKeys struct{ p atomic.Pointer[[]string] }

// maxLearnedKeys bounds what an API learns: a module that calls
// subscription_check with request-chosen query names cannot grow the set
// (and every later call's redaction) without limit. Real APIs read one or
// two names; the names a call itself read are redacted from its own
// record whatever this bound (redactCallQuery).
const maxLearnedKeys = 16

func (l *learnedKeys) names() []string {
	if l == nil {
		return nil
	}
	if p := l.p.Load(); p != nil {
		return *p
	}
	return nil
}

// add records names (copy on write; a name is added once).
func (l *learnedKeys) add(names []string) {
	for {
		old := l.p.Load()
		var cur []string
		if old != nil {
			cur = *old
		}
		next := cur
		for _, n := range names {
			n = strings.ToLower(n)
			found := false
			for _, have := range next {
				found = found || have == n
			}
			if !found && len(next) < maxLearnedKeys {
				next = append(next[:len(next):len(next)], n)
			}
		}
		if len(next) == len(cur) || l.p.CompareAndSwap(old, &next) {
			return
		}
	}
}

// redactCallQuery is the recorded query: the sensitive names, and the key
// parameters this call's (or an earlier call's) subscription checks read.
func redactCallQuery(raw string, sensitive []string, learned *learnedKeys, ex *engine.Exchange) string {
	if raw == "" {
		return raw
	}
	kq := ex.KeyQueryParams()
	if len(kq) > 0 && learned != nil {
		learned.add(kq)
	}
	q := RedactQuery(raw, sensitive)
	if learned != nil {
		q = RedactQuery(q, learned.names())
	}
	if len(kq) > 0 && (learned == nil || len(learned.names()) >= maxLearnedKeys) {
		// Not (all) learned: this call's own names, whatever the set holds.
		lower := make([]string, len(kq))
		for i, n := range kq {
			lower[i] = strings.ToLower(n)
		}
		q = RedactQuery(q, lower)
	}
	return q
}
