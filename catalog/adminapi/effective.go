package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/catalog"
)

// effectiveEntry is a policy entry with the scope it came from.
type effectiveEntry struct {
	catalog.PolicyEntry
	Scope   catalog.Scope `json:"scope"`
	ScopeID string        `json:"scopeId,omitempty"`
}

// effectivePolicyBody is the answer of the effective-policy route.
type effectivePolicyBody struct {
	APIID       string           `json:"apiId"`
	OperationID string           `json:"operationId"`
	ProductID   string           `json:"productId,omitempty"`
	Inbound     []effectiveEntry `json:"inbound"`
	Backend     []effectiveEntry `json:"backend"`
	Outbound    []effectiveEntry `json:"outbound"`
	OnError     []effectiveEntry `json:"onError"`
}

// scopeRef names one policy scope of the merge chain.
type scopeRef struct {
	scope catalog.Scope
	id    string
}

// effectivePolicy merges the global, product (when productId is given),
// API and operation documents section by section: an absent section
// inherits the parent's, a present one replaces it with each base entry
// standing for the parent's entries.
func (s *server) effectivePolicy(w http.ResponseWriter, r *http.Request) error {
	op, err := s.operation(r)
	if err != nil {
		return err
	}
	api, err := s.st.GetAPI(r.Context(), op.APIID)
	if err != nil {
		return err
	}
	chain := []scopeRef{{catalog.ScopeGlobal, ""}}
	productID := r.URL.Query().Get("productId")
	if productID != "" {
		if _, err := s.st.GetProduct(r.Context(), productID); errors.Is(err, catalog.ErrNotFound) {
			return invalid("productId", "product %q does not exist", productID)
		} else if err != nil {
			return err
		}
		links, err := s.st.ListProductAPIs(r.Context(), productID)
		if err != nil {
			return err
		}
		if !slices.Contains(links, catalog.ProductAPI{ProductID: productID, APIID: api.ID}) {
			return invalid("productId", "product %q does not contain api %q", productID, api.ID)
		}
		chain = append(chain, scopeRef{catalog.ScopeProduct, productID})
	}
	chain = append(chain, scopeRef{catalog.ScopeAPI, api.ID}, scopeRef{catalog.ScopeOperation, op.ID})

	merged := make([][]effectiveEntry, 4)
	for _, c := range chain {
		d, err := s.st.GetPolicy(r.Context(), c.scope, c.id)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for i, sec := range sections(&d) {
			merged[i] = mergeSection(merged[i], *sec.entries, c.scope, c.id)
		}
	}
	if api.SubscriptionRequired {
		merged[0] = append([]effectiveEntry{subscriptionCheck(api)}, merged[0]...)
	}
	writeJSON(w, http.StatusOK, effectivePolicyBody{
		APIID: api.ID, OperationID: op.ID, ProductID: productID,
		Inbound: nonNil(merged[0]), Backend: nonNil(merged[1]), Outbound: nonNil(merged[2]), OnError: nonNil(merged[3]),
	})
	return nil
}

// mergeSection applies a child section to the parent's merged entries.
func mergeSection(parent []effectiveEntry, child []catalog.PolicyEntry, scope catalog.Scope, id string) []effectiveEntry {
	if child == nil {
		return parent
	}
	out := make([]effectiveEntry, 0, len(parent)+len(child))
	for _, e := range child {
		if e.Base {
			out = append(out, parent...)
			continue
		}
		out = append(out, effectiveEntry{PolicyEntry: catalog.MaskEntrySecrets(e), Scope: scope, ScopeID: id})
	}
	return out
}

// subscriptionCheck is the built-in subscription-key entry the gateway
// runs first for an API that requires a subscription.
func subscriptionCheck(a catalog.API) effectiveEntry {
	header, query := a.KeyHeader, a.KeyQuery
	if header == "" {
		header = catalog.DefaultKeyHeader
	}
	if query == "" {
		query = catalog.DefaultKeyQuery
	}
	cfg, _ := json.Marshal(struct {
		Header     string `json:"header"`
		Query      string `json:"query"`
		AllowQuery bool   `json:"allow_query"`
	}{header, query, a.AllowQueryKey})
	return effectiveEntry{
		PolicyEntry: catalog.PolicyEntry{Module: BuiltinModule, Policy: SubscriptionKeyPolicy, Config: cfg},
		Scope:       catalog.ScopeAPI, ScopeID: a.ID,
	}
}
