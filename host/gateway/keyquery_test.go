package gateway

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/hostcall"
	"github.com/gatehouse/gatehouse/host/engine"
)

type oneSub struct{}

func (oneSub) LookupSubscription(_ context.Context, key, _ string) (hostcall.Subscription, bool, error) {
	return hostcall.Subscription{ID: "s", State: "active", APIAllowed: true}, key == "k-123", nil
}

// TestKeyQueryLearned: the query name a subscription_check read (whatever
// module made it) is redacted from that call's record and, learned by the
// API, from later calls whose check did not run.
func TestKeyQueryLearned(t *testing.T) {
	h := hostcall.New(&hostcall.Services{Subscriptions: oneSub{}}, hostcall.Budgets{})
	checked := &engine.Exchange{ReqHeader: http.Header{}, Query: "a=1&Tenant-Key=k-123", Phase: engine.PhaseRequest}
	if st := h.SubscriptionCheck(nil, checked, []byte("X-Key"), []byte("Tenant-Key"), abi.SubAllowQuery|abi.SubKeep); st != abi.SubOK {
		t.Fatalf("check = %d", st)
	}
	var learned learnedKeys
	if got := redactCallQuery("a=1&Tenant-Key=k-123", nil, &learned, checked); got != "a=1&Tenant-Key=***" {
		t.Errorf("checked call: %q", got)
	}
	answeredEarly := &engine.Exchange{}
	if got := redactCallQuery("tenant-key=k-999&b=2", nil, &learned, answeredEarly); got != "tenant-key=***&b=2" {
		t.Errorf("call without a check after learning: %q", got)
	}
	if got := redactCallQuery("Tenant-Key=k-999", nil, nil, checked); got != "Tenant-Key=***" {
		t.Errorf("no route: %q", got)
	}
	if got := redactCallQuery("Tenant-Key=k-999", nil, &learnedKeys{}, answeredEarly); got != "Tenant-Key=k-999" {
		t.Errorf("nothing learned, nothing checked: %q", got)
	}
	learned.add([]string{"TENANT-KEY", "other"})
	if n := learned.names(); len(n) != 2 || n[0] != "tenant-key" || n[1] != "other" {
		t.Errorf("names = %q", n)
	}
}

// TestLearnedKeysBounded: request-chosen names a module passes to
// subscription_check cannot grow an API's learned set without limit.
func TestLearnedKeysBounded(t *testing.T) {
	var l learnedKeys
	for i := 0; i < 1000; i++ {
		l.add([]string{"Key" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))})
	}
	if n := len(l.names()); n != maxLearnedKeys {
		t.Fatalf("learned %d names, want the bound %d", n, maxLearnedKeys)
	}
	l.add([]string{"KEYAA"}) // already there, in lower case
	if n := len(l.names()); n != maxLearnedKeys {
		t.Fatalf("a known name grew the set to %d", n)
	}
	if got := RedactQuery("zz9=secret&keyaa=s2", l.names()); got == "zz9=secret&keyaa=s2" {
		t.Fatalf("a learned name was not redacted: %q", got)
	}
}
