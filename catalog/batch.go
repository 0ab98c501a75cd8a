package catalog

import "context"

// Batcher is implemented by stores that can make many writes one
// transaction (catalog/sqlite does). Batch calls fn with a context; every
// write fn makes through the store with that context joins one
// transaction, committed when fn returns nil and rolled back — nothing
// written — when it returns an error. The writes of a batch bump the
// catalog version once (not at all when fn writes nothing), and each keeps
// its own audit entry, carrying that version. A write that fails inside a
// batch leaves nothing of itself behind, so fn may recover from it (as a
// single write outside a batch would) and go on.
//
// Reads made during a batch see the catalog as it was before the batch
// began: no other write can commit while it runs. Batches do not nest.
type Batcher interface {
	Batch(ctx context.Context, fn func(ctx context.Context) error) error
}
