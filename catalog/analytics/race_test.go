//go:build race

package analytics

// raceEnabled relaxes timing assertions under the race detector.
const raceEnabled = true
