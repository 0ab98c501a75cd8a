package catalog

import "context"

// ProductAPILister lists a product's API links (Products implements it).
type ProductAPILister interface {
	ListProductAPIs(ctx context.Context, productID string) ([]ProductAPI, error)
}

// SubscriptionCovers reports whether subscription s grants access to the
// API apiID by its scope: every API (ScopeAll), the API itself (ScopeAPI),
// or a product that contains the API (ScopeProduct). It does not look at
// the state; see EffectiveState.
func SubscriptionCovers(ctx context.Context, s *Subscription, apiID string, products ProductAPILister) (bool, error) {
	switch s.Scope {
	case ScopeAll:
		return true, nil
	case ScopeAPI:
		return s.ScopeID == apiID, nil
	case ScopeProduct:
		links, err := products.ListProductAPIs(ctx, s.ScopeID)
		if err != nil {
			return false, err
		}
		for _, l := range links {
			if l.APIID == apiID {
				return true, nil
			}
		}
	}
	return false, nil
}
