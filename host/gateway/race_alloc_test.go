//go:build race

package gateway_test

// raceEnabled: the race detector's sync.Pool drops a share of what is put
// back, so pooled calls are made again and allocation counts differ.
const raceEnabled = true
