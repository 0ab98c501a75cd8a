package gateway

import "context"

// TestCacheDir is the compilation cache of the package's internal tests
// (set by TestMain; "" compiles without one).
var TestCacheDir string

// BuildForTest builds a snapshot of cfg without serving it: from scratch
// (full) or reusing the serving snapshot's unchanged parts. It returns how
// many parts were reused and the function releasing the snapshot.
func (g *Gateway) BuildForTest(ctx context.Context, cfg *Config, full bool) (reused int, release func(), err error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	var prev *snapshot
	if !full {
		prev = g.cur.Load()
	}
	s, err := g.buildFrom(ctx, cfg, "", prev)
	if err != nil {
		return 0, nil, err
	}
	return s.reused, s.release, nil
}
