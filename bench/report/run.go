package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// cell is one scenario × target of a run.
type cell struct{ sc, tg string }

// runData is every wrk file of one OUT_DIR.
type runData struct {
	scenarios, targets []string                   // in the order found (file names sorted)
	rounds             map[cell]map[string]result // round ("r1") -> result
}

// loadRun parses OUT_DIR/wrk/*__*__r*.txt. Files that do not parse (wrk
// failed) are skipped with a warning on warn, so one bad run does not hide
// the rest of the table.
func loadRun(dir string, warn io.Writer) *runData {
	files, _ := filepath.Glob(filepath.Join(dir, "wrk", "*__*__r*.txt"))
	sort.Strings(files)
	d := &runData{rounds: map[cell]map[string]result{}}
	seenSc, seenTg := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".txt"), "__")
		if len(parts) != 3 {
			continue
		}
		r, err := parseWrk(f)
		if err != nil {
			fmt.Fprintln(warn, "report: warning:", err)
			continue
		}
		c := cell{parts[0], parts[1]}
		if d.rounds[c] == nil {
			d.rounds[c] = map[string]result{}
		}
		d.rounds[c][parts[2]] = r
		if !seenSc[c.sc] {
			seenSc[c.sc] = true
			d.scenarios = append(d.scenarios, c.sc)
		}
		if !seenTg[c.tg] {
			seenTg[c.tg] = true
			d.targets = append(d.targets, c.tg)
		}
	}
	return d
}

// order returns the space-separated list flag when set, else found.
func order(flagValue string, found []string) []string {
	if flagValue != "" {
		return strings.Fields(flagValue)
	}
	return found
}
