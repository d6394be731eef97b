package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// memTable prints the idle-connection table from OUT_DIR/mem/<target>.txt,
// rows in the order of tgs and then any other target found (haproxy, a
// stand-in gateway), so nothing measured is dropped.
func memTable(dir string, tgs []string, w io.Writer) error {
	mems, _ := filepath.Glob(filepath.Join(dir, "mem", "*.txt"))
	if len(mems) == 0 {
		return nil
	}
	rank := map[string]int{}
	for i, t := range tgs {
		rank[t] = i + 1
	}
	rankOf := func(f string) int {
		if o := rank[strings.TrimSuffix(filepath.Base(f), ".txt")]; o > 0 {
			return o
		}
		return len(tgs) + 1
	}
	sort.SliceStable(mems, func(i, j int) bool { return rankOf(mems[i]) < rankOf(mems[j]) })
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| idle conns | target | ok/n | still open | RSS before | RSS with conns | RSS after close | bytes/conn |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, f := range mems {
		kv := readKV(f)
		if kv["ok"] == "" {
			fmt.Fprintf(w, "| %s | %s | failed | | | | | |\n", kv["n"], strings.TrimSuffix(filepath.Base(f), ".txt"))
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s/%s | %s | %s | %s | %s | %s |\n", kv["n"], kv["name"], kv["ok"], kv["n"],
			kv["still_open"], mib(kv["rss_before_kib"]), mib(kv["rss_conns_kib"]), mib(kv["rss_closed_kib"]), kv["bytes_per_conn"])
		if e := kv["first_error"]; e != "" {
			fmt.Fprintf(w, "| | first error: %s | | | | | | |\n", strings.ReplaceAll(e, "|", "/"))
		}
	}
	return nil
}

func mib(kib string) string {
	v, err := strconv.ParseFloat(kib, 64)
	if err != nil {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", v/1024)
}

// readKV parses the last line of an idle result: key=value pairs, values
// optionally Go-quoted.
func readKV(file string) map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(file)
	if err != nil {
		return m
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s := lines[len(lines)-1]
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key, rest := s[:eq], s[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			val, rest = rest[:sp], rest[sp:]
		} else {
			val, rest = rest, ""
		}
		m[key] = val
		s = rest
	}
	return m
}
