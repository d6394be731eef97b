//go:build race

package compress

// raceEnabled: sync.Pool drops a share of Puts on purpose under -race, so
// allocation counts are checked only without it.
const raceEnabled = true
