package engine

// The tests build snapshots from configs naming the shipped middleware
// types; the binary links them in cmd/sluice, so the tests link them here.
import _ "github.com/sluicehq/sluice/filter/builtin"
