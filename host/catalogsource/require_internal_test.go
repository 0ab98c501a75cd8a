package catalogsource

import (
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// An operation whose inbound section is present but empty replaces the
// API's steps; the subscription check must still run first (it used to
// index the empty section and panic).
func TestRequireSubscriptionEmptyOperationInbound(t *testing.T) {
	ga := &gateway.API{Name: "a", Operations: []gateway.Operation{{ID: "o", Policies: gateway.Policy{Inbound: []gateway.Step{}}}}}
	requireSubscription(nil, ga, catalog.API{Name: "a", KeyHeader: "K", KeyQuery: "k"})
	got := ga.Operations[0].Policies.Inbound
	if len(got) != 1 || got[0].Policy != SubscriptionKeyPolicy {
		t.Fatalf("operation inbound = %+v; want just the subscription check", got)
	}
}
