package config

// The primitives the schema decoder (schema.go) is built from: walking
// go.yaml.in/yaml/v4's node tree with aliases and merge keys resolved, and
// decoding scalars without silent type conversions. go.yaml.in/yaml/v4
// implements YAML 1.2's core schema for untagged scalars ("yes" is a
// string, a plain scalar may contain ':' when no space follows it), keeps
// every node's line and column (and a syntax error's), and resolves
// standard tags (!!str 12 is the string "12").

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// entry is one key/value pair of a mapping or one item of a sequence.
type entry struct {
	key  string     // map key; "" for sequence items
	keyN *yaml.Node // where the key is written (the item itself for sequences)
	val  *yaml.Node // value with aliases resolved; a !!null scalar when empty
	path string     // YAML path of the value, e.g. "routes[1].cluster"
}

// Bounds that keep a hostile or mistaken file from hanging a reload.
const (
	maxMergeDepth = 16     // nested merge keys: a self-referencing anchor would recurse forever
	maxAliases    = 10_000 // alias expansions per document: "billion laughs"
	maxAliasChain = 64     // an alias naming an alias naming an alias…
)

// mapping returns n's pairs in document order with merge keys (<<)
// expanded; explicit keys win over merged ones, as YAML specifies. A null n
// (an empty section such as "server:") has no pairs. ok is false when n is
// not a mapping, which has been reported.
func (d *decoder) mapping(n *yaml.Node, path string) (es []entry, ok bool) {
	n, ok = d.resolve(n, path)
	if !ok || isNull(n) {
		return nil, ok
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", kind(n))
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		kn, kok := d.resolve(k, path)
		if !kok || kn.Kind != yaml.ScalarNode || tagOf(kn) != "!!str" {
			if kok {
				d.fail(k, path, "keys must be plain strings, got %s", kind(kn))
			}
			continue
		}
		p := joinPath(path, kn.Value)
		if first, dup := seen[kn.Value]; dup {
			d.fail(k, p, "duplicate key %q (first at line %d)", kn.Value, first.Line)
			continue
		}
		seen[kn.Value] = k
		if rv, vok := d.resolve(v, p); vok {
			es = append(es, entry{key: kn.Value, keyN: k, val: rv, path: p})
		}
	}
	if len(merges) > 0 {
		if d.mergeDepth >= maxMergeDepth {
			d.fail(n, path, "merge keys (<<) nested too deeply (a cycle?)")
			return nil, false
		}
		d.mergeDepth++
		for _, src := range merges {
			for _, e := range d.mergeSource(src, path) {
				if _, dup := seen[e.key]; !dup {
					seen[e.key] = e.keyN
					es = append(es, e)
				}
			}
		}
		d.mergeDepth--
	}
	// Positions last: a merged mapping records its own, which an explicit
	// key overrides.
	for _, e := range es {
		d.pos[e.path] = d.posOf(e.val)
	}
	return es, true
}

// mergeSource expands the value of a merge key: a mapping or a list of
// mappings (earlier ones win).
func (d *decoder) mergeSource(n *yaml.Node, path string) []entry {
	n, ok := d.resolve(n, path)
	if !ok {
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []entry
		for _, it := range n.Content {
			es, _ := d.mapping(it, path)
			out = append(out, es...)
		}
		return out
	case yaml.MappingNode:
		es, _ := d.mapping(n, path)
		return es
	}
	d.fail(n, path, "merge key (<<) needs a mapping or a list of mappings, got %s", kind(n))
	return nil
}

// items returns a sequence's items; null means an empty list. ok is false
// when the value is not a list, which has been reported.
func (d *decoder) items(e entry) (out []entry, ok bool) {
	if isNull(e.val) {
		return nil, true
	}
	if e.val.Kind != yaml.SequenceNode {
		d.fail(e.val, e.path, "expected a list, got %s", kind(e.val))
		return nil, false
	}
	out = make([]entry, 0, len(e.val.Content))
	for i, it := range e.val.Content {
		p := e.path + "[" + strconv.Itoa(i) + "]"
		v, vok := d.resolve(it, p)
		if !vok {
			continue
		}
		d.pos[p] = d.posOf(v)
		out = append(out, entry{keyN: it, val: v, path: p})
	}
	return out, true
}

// resolve follows aliases (the parser has already bound each to its
// anchor, so an alias naming no anchor is a syntax error) and steps into a
// document node.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	for range maxAliasChain {
		switch {
		case n == nil:
			return nil, true
		case n.Kind == yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil, true
			}
			n = n.Content[0]
		case n.Kind == yaml.AliasNode:
			if d.aliases++; d.aliases > maxAliases {
				if d.aliases == maxAliases+1 {
					d.fail(n, path, "more than %d aliases expanded; the document is too large to decode", maxAliases)
				}
				return nil, false
			}
			n = n.Alias
		default:
			return n, true
		}
	}
	d.fail(n, path, "aliases nested too deeply")
	return nil, false
}

// tagOf returns n's standard tag ("!!str", "!!int", …): the parser
// resolves untagged scalars by YAML 1.2's core schema. A tag of the
// operator's own (!secret) says nothing this package knows, so such a node
// is typed by its content as if it had none.
func tagOf(n *yaml.Node) string {
	if n == nil {
		return "!!null"
	}
	t := n.ShortTag()
	if strings.HasPrefix(t, "!!") || n.Kind != yaml.ScalarNode {
		return t
	}
	var v any
	if n.Style&^yaml.TaggedStyle != 0 || decodeScalar(n, &v) != nil {
		return "!!str" // quoted, or not decodable: text
	}
	switch v.(type) {
	case nil:
		return "!!null"
	case bool:
		return "!!bool"
	case int, int64, uint, uint64:
		return "!!int"
	case float64:
		return "!!float"
	}
	return "!!str"
}

// decodeScalar decodes the scalar n into v by yaml/v4's rules, reading a
// node with a tag of the operator's own as if it had none.
func decodeScalar(n *yaml.Node, v any) error {
	if !strings.HasPrefix(n.ShortTag(), "!!") {
		c := *n
		c.Tag, c.Style = "", c.Style&^yaml.TaggedStyle
		n = &c
	}
	return n.Decode(v)
}

// isText reports whether n is a scalar whose value is text: a string, or a
// timestamp or binary scalar, which this package reads as written.
func isText(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	switch tagOf(n) {
	case "!!str", "!!timestamp", "!!binary":
		return true
	}
	return false
}

// str decodes a string; numbers and booleans are refused rather than
// converted, since `version: 2.10` silently becoming "2.1" is worse than an
// error asking for quotes.
func (d *decoder) str(e entry, dst *string) bool {
	switch {
	case isText(e.val):
		*dst = e.val.Value
		return true
	case isNull(e.val):
		d.fail(e.val, e.path, "expected a string, got nothing (write \"\" for an empty string)")
	case e.val.Kind == yaml.ScalarNode:
		d.fail(e.val, e.path, "expected a string, got %s %s (quote it: \"%s\")", kind(e.val), e.val.Value, e.val.Value)
	default:
		d.fail(e.val, e.path, "expected a string, got %s", kind(e.val))
	}
	return false
}

// int64 decodes an integer scalar into a value within lo..hi (the Go
// field's range).
func (d *decoder) int64(e entry, lo, hi int64) (int64, bool) {
	if !isScalar(e.val, "!!int") {
		d.fail(e.val, e.path, "expected an integer, got %s", describe(e.val))
		return 0, false
	}
	var n int64
	if err := decodeScalar(e.val, &n); err != nil || n < lo || n > hi {
		d.fail(e.val, e.path, "integer %s is out of range", e.val.Value)
		return 0, false
	}
	return n, true
}

func (d *decoder) uint64(e entry, hi uint64) (uint64, bool) {
	var n uint64
	if !isScalar(e.val, "!!int") {
		d.fail(e.val, e.path, "expected an integer, got %s", describe(e.val))
		return 0, false
	}
	if err := decodeScalar(e.val, &n); err != nil || n > hi {
		d.fail(e.val, e.path, "integer %s is out of range (0..%d)", e.val.Value, hi)
		return 0, false
	}
	return n, true
}

// float decodes a number; an integer is fine (`budget: 1`).
func (d *decoder) float(e entry) (float64, bool) {
	var f float64
	if isScalar(e.val, "!!float") || isScalar(e.val, "!!int") {
		if err := decodeScalar(e.val, &f); err == nil {
			return f, true
		}
	}
	d.fail(e.val, e.path, "expected a number such as 0.5, got %s", describe(e.val))
	return 0, false
}

func (d *decoder) bool(e entry) (bool, bool) {
	var b bool
	if isScalar(e.val, "!!bool") && decodeScalar(e.val, &b) == nil {
		return b, true
	}
	d.fail(e.val, e.path, "expected true or false, got %s", describe(e.val))
	return false, false
}

func (d *decoder) duration(e entry) (Duration, bool) {
	text, ok := scalarText(e.val)
	if !ok {
		d.fail(e.val, e.path, "expected a duration such as \"30s\", got %s", kind(e.val))
		return 0, false
	}
	v, err := ParseDuration(text)
	if err != nil {
		d.fail(e.val, e.path, "%v", err)
		return 0, false
	}
	return v, true
}

func (d *decoder) size(e entry) (ByteSize, bool) {
	text, ok := scalarText(e.val)
	if !ok {
		d.fail(e.val, e.path, "expected a size such as \"64KiB\", got %s", kind(e.val))
		return 0, false
	}
	v, err := ParseByteSize(text)
	if err != nil {
		d.fail(e.val, e.path, "%v", err)
		return 0, false
	}
	return v, true
}

// anyValue decodes a value of no fixed type (a claim to require, an
// audience that is a string or a list): strings, int64, float64, bool, nil,
// []any and map[string]any.
func (d *decoder) anyValue(e entry) any {
	if !d.enter(e) {
		return nil
	}
	defer d.leave()
	switch {
	case isNull(e.val):
		return nil
	case e.val.Kind == yaml.SequenceNode:
		es, _ := d.items(e)
		out := make([]any, 0, len(es))
		for _, it := range es {
			out = append(out, d.anyValue(it))
		}
		return out
	case e.val.Kind == yaml.MappingNode:
		es, _ := d.mapping(e.val, e.path)
		out := make(map[string]any, len(es))
		for _, kv := range es {
			out[kv.key] = d.anyValue(kv)
		}
		return out
	case isText(e.val):
		return e.val.Value
	}
	switch tagOf(e.val) {
	case "!!int":
		if n, ok := d.int64(e, math.MinInt64, math.MaxInt64); ok {
			return n
		}
		return nil
	case "!!float":
		f, _ := d.float(e)
		return f
	case "!!bool":
		b, _ := d.bool(e)
		return b
	}
	d.fail(e.val, e.path, "unsupported value %s", describe(e.val))
	return nil
}

// fail reports a decoding error at n and marks path as failed.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs.markBad(path)
	d.errs.add(errorf(d.posOf(n), path, format, args...))
}

func (d *decoder) posOf(n *yaml.Node) Pos { return nodePos(d.file, n) }

// nodePos returns where n starts: its first key for a block mapping (whose
// own position is that key's anyway, unless an anchor or tag precedes it),
// else the node itself, anchor or tag included, as YAML counts a node's
// properties as part of it.
func nodePos(file string, n *yaml.Node) Pos {
	p := Pos{File: file}
	if n == nil {
		return p
	}
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0 {
		return nodePos(file, n.Content[0])
	}
	p.Line, p.Col = n.Line, n.Column
	return p
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && tagOf(n) == "!!null"
}

func isScalar(n *yaml.Node, tag string) bool {
	return n != nil && n.Kind == yaml.ScalarNode && tagOf(n) == tag
}

// scalarText returns the text of a string or number scalar, for values
// (durations, sizes) whose own parser gives the better error message.
func scalarText(n *yaml.Node) (string, bool) {
	if isText(n) || isScalar(n, "!!int") || isScalar(n, "!!float") {
		return n.Value, true
	}
	return "", false
}

// kind names a node's YAML type the way an operator thinks of it.
func kind(n *yaml.Node) string {
	if isNull(n) {
		return "nothing (null)"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if isText(n) {
		return "a string"
	}
	switch tagOf(n) {
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a " + strings.TrimPrefix(tagOf(n), "!!")
}

// describe is kind plus the scalar's text, e.g. `a string "yes"`.
func describe(n *yaml.Node) string {
	switch {
	case isText(n):
		return fmt.Sprintf("%s %q", kind(n), n.Value)
	case !isNull(n) && n.Kind == yaml.ScalarNode:
		return kind(n) + " " + n.Value
	}
	return kind(n)
}
