package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// TestConcurrentWritersAndReaders hammers the single writer from 8
// goroutines while readers list subscriptions and poll the version.
func TestConcurrentWritersAndReaders(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	_, p, _ := seed(t, s)
	const writers, perWriter = 8, 15
	users := make([]catalog.User, writers)
	for i := range users {
		users[i] = must[catalog.User](t)(s.CreateUser(ctx, catalog.User{Email: fmt.Sprintf("w%d@example.com", i), Name: "W"}))
	}
	v0 := version(t, s)

	var wg sync.WaitGroup
	var done atomic.Bool
	type created struct {
		id, key string
	}
	results := make(chan created, writers*perWriter)
	errs := make(chan error, 64)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(u catalog.User) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				sub, k1, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
				if err != nil {
					errs <- err
					return
				}
				results <- created{sub.ID, k1}
			}
		}(users[w])
	}
	var rg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			var lastV int64
			lastN := 0
			for !done.Load() {
				v, err := s.Version(ctx)
				if err != nil {
					errs <- err
					return
				}
				if v < lastV {
					errs <- fmt.Errorf("version went backwards: %d after %d", v, lastV)
					return
				}
				lastV = v
				l, err := s.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
				if err != nil {
					errs <- err
					return
				}
				if len(l) < lastN {
					errs <- fmt.Errorf("list shrank: %d after %d", len(l), lastN)
					return
				}
				lastN = len(l)
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	rg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	for c := range results {
		n++
		got, err := s.LookupKey(ctx, c.key)
		if err != nil || got.ID != c.id {
			t.Fatalf("lookup %s: %+v %v", c.id, got, err)
		}
	}
	if n != writers*perWriter {
		t.Fatalf("created %d", n)
	}
	if got := version(t, s) - v0; got != writers*perWriter {
		t.Fatalf("version moved by %d, want %d", got, writers*perWriter)
	}
	es := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 1000))
	seen := map[int64]bool{}
	for _, e := range es {
		if seen[e.Version] {
			t.Fatalf("two audit entries for version %d", e.Version)
		}
		seen[e.Version] = true
	}
}
