package promtext

import (
	"strings"
	"testing"
)

// TestParse: a well-formed exposition parses; each way of leaving a
// family untyped or undocumented is refused.
func TestParse(t *testing.T) {
	good := `# HELP a_total Requests.
# TYPE a_total counter
a_total{route="x"} 3
a_total{route="y"} 1
# HELP h_seconds Latency.
# TYPE h_seconds histogram
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 0.5
h_seconds_count 2
`
	fams, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if f := fams["a_total"]; f.Type != "counter" || f.Help != "Requests." || f.Samples[`a_total{route="x"}`] != 3 || len(fams["h_seconds"].Samples) != 4 {
		t.Errorf("parsed %+v %+v", fams["a_total"], fams["h_seconds"])
	}
	for name, bad := range map[string]string{
		"no TYPE":            "# HELP a_total Requests.\na_total 1\n",
		"no metadata at all": "a_total 1\n",
		"empty HELP":         "# HELP a_total\n# TYPE a_total counter\na_total 1\n",
		"no HELP":            "# TYPE a_total counter\na_total 1\n",
		"unknown TYPE":       "# HELP a_total R.\n# TYPE a_total count\na_total 1\n",
		"split family":       "# HELP a R.\n# TYPE a gauge\na 1\n# HELP b R.\n# TYPE b gauge\nb 1\n# HELP a R.\n",
		"sample of another":  "# HELP a R.\n# TYPE a gauge\nb 1\n",
		"duplicate series":   "# HELP a R.\n# TYPE a gauge\na 1\na 2\n",
		"bad value":          "# HELP a R.\n# TYPE a gauge\na one\n",
		"_bucket of a gauge": "# HELP a R.\n# TYPE a gauge\na_bucket 1\n",
	} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted:\n%s", name, bad)
		}
	}
}
