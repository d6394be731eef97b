// Package promtext checks a Prometheus text exposition (format 0.0.4)
// strictly: the tests of /metrics use it to prove every family is typed
// and documented, without a dependency on the Prometheus client libraries.
package promtext

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Family is one metric family as exposed.
type Family struct {
	Name    string
	Help    string
	Type    string // counter, gauge, histogram, summary, untyped
	Samples map[string]float64
}

// Parse reads an exposition and returns its families by name. It fails on
// anything a strict reader refuses or a scraper would have to guess at: a
// sample without a preceding # TYPE for its family, a family whose HELP or
// TYPE is missing, repeated or empty, samples of one family split by
// another's, a malformed sample line, a duplicate series.
func Parse(r io.Reader) (map[string]*Family, error) {
	fams := map[string]*Family{}
	var cur *Family
	closed := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kind, rest, _ := strings.Cut(rest, " ")
			name, text, _ := strings.Cut(rest, " ")
			if kind != "HELP" && kind != "TYPE" {
				continue // a plain comment
			}
			f := fams[name]
			if f == nil {
				if cur != nil {
					closed[cur.Name] = true
				}
				if closed[name] {
					return nil, fmt.Errorf("line %d: family %s reopened", n, name)
				}
				f = &Family{Name: name, Samples: map[string]float64{}}
				fams[name], cur = f, f
			} else if f != cur {
				return nil, fmt.Errorf("line %d: %s metadata away from its family", n, name)
			}
			switch kind {
			case "HELP":
				if f.Help != "" {
					return nil, fmt.Errorf("line %d: second HELP for %s", n, name)
				}
				if strings.TrimSpace(text) == "" {
					return nil, fmt.Errorf("line %d: empty HELP for %s", n, name)
				}
				f.Help = text
			case "TYPE":
				if f.Type != "" {
					return nil, fmt.Errorf("line %d: second TYPE for %s", n, name)
				}
				switch text {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					return nil, fmt.Errorf("line %d: unknown TYPE %q for %s", n, text, name)
				}
				if len(f.Samples) > 0 {
					return nil, fmt.Errorf("line %d: TYPE for %s after its samples", n, name)
				}
				f.Type = text
			}
			continue
		}
		series, value, err := splitSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v: %q", n, err, line)
		}
		name, _, _ := strings.Cut(series, "{")
		if cur == nil || cur.Type == "" || !belongs(name, cur) {
			return nil, fmt.Errorf("line %d: sample %s without a # TYPE line for its family", n, name)
		}
		if _, dup := cur.Samples[series]; dup {
			return nil, fmt.Errorf("line %d: duplicate series %s", n, series)
		}
		cur.Samples[series] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range fams {
		if f.Help == "" || f.Type == "" {
			return nil, fmt.Errorf("family %s lacks HELP or TYPE", f.Name)
		}
	}
	return fams, nil
}

// belongs reports whether a sample called name is part of family f
// (histograms and summaries add _bucket, _sum and _count).
func belongs(name string, f *Family) bool {
	if name == f.Name {
		return true
	}
	if f.Type == "histogram" || f.Type == "summary" {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if name == f.Name+suf {
				return f.Type == "histogram" || suf != "_bucket"
			}
		}
	}
	return false
}

// splitSample splits `name{labels} value [timestamp]`.
func splitSample(line string) (series string, value float64, err error) {
	end := strings.IndexByte(line, ' ')
	if i := strings.IndexByte(line, '{'); i >= 0 && (end < 0 || i < end) {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", 0, fmt.Errorf("unclosed label set")
		}
		end = j + 1
		if end >= len(line) || line[end] != ' ' {
			return "", 0, fmt.Errorf("no value")
		}
	}
	if end <= 0 {
		return "", 0, fmt.Errorf("no value")
	}
	series = line[:end]
	name, _, _ := strings.Cut(series, "{")
	for i, c := range name {
		if !(c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return "", 0, fmt.Errorf("bad metric name")
		}
	}
	fields := strings.Fields(line[end:])
	if len(fields) < 1 || len(fields) > 2 {
		return "", 0, fmt.Errorf("want a value and an optional timestamp")
	}
	value, err = strconv.ParseFloat(fields[0], 64)
	return series, value, err
}
