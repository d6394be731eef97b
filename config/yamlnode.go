package config

// The primitives the schema decoder in load.go is built from: walking
// goccy/go-yaml's AST with anchors, aliases, merge keys and tags resolved,
// and decoding scalars without silent type conversions.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// entry is one key/value pair of a mapping or one item of a sequence.
type entry struct {
	key  string   // map key; "" for sequence items
	keyN ast.Node // where the key is written (the item itself for sequences)
	val  ast.Node // value with anchors, aliases and tags resolved; nil or *ast.NullNode when empty
	path string   // YAML path of the value, e.g. "routes[1].cluster"
}

// fieldSet maps each known key of a struct-like mapping to its decoder.
type fieldSet map[string]func(e entry)

// fields decodes a struct-like mapping: each known key goes to its decoder,
// each unknown key is an error at the key.
func (d *decoder) fields(n ast.Node, path string, fs fieldSet) {
	es, _ := d.mapping(n, path)
	for _, e := range es {
		f, ok := fs[e.key]
		if !ok {
			known := make([]string, 0, len(fs))
			for k := range fs {
				known = append(known, k)
			}
			slices.Sort(known)
			d.fail(e.keyN, e.path, "unknown key %q%s (known keys: %s)", e.key, suggest(e.key, known), strings.Join(known, ", "))
			continue
		}
		f(e)
	}
}

// mapping returns n's pairs in document order with merge keys (<<)
// expanded; explicit keys win over merged ones, as YAML specifies. A null n
// (an empty section such as "server:") has no pairs. ok is false when n is
// not a mapping, which has been reported.
func (d *decoder) mapping(n ast.Node, path string) (es []entry, ok bool) {
	n, ok = d.resolve(n, path)
	if !ok || isNull(n) {
		return nil, ok
	}
	m, isMap := n.(*ast.MappingNode)
	if !isMap {
		d.fail(n, path, "expected a mapping, got %s", kind(n))
		return nil, false
	}
	seen := map[string]ast.Node{}
	var merges []ast.Node
	for _, mv := range m.Values {
		if mv.Key.IsMergeKey() {
			merges = append(merges, mv.Value)
			continue
		}
		kn, kok := d.resolve(mv.Key, path)
		if mk, isKey := kn.(*ast.MappingKeyNode); isKey {
			kn, kok = d.resolve(mk.Value, path)
		}
		ks, isStr := kn.(*ast.StringNode)
		if !kok || !isStr {
			d.fail(mv.Key, path, "keys must be plain strings, got %s", kind(kn))
			continue
		}
		p := joinPath(path, ks.Value)
		if first, dup := seen[ks.Value]; dup {
			d.fail(mv.Key, p, "duplicate key %q (first at line %d)", ks.Value, d.posOf(first).Line)
			continue
		}
		seen[ks.Value] = mv.Key
		if v, vok := d.resolve(mv.Value, p); vok {
			es = append(es, entry{key: ks.Value, keyN: mv.Key, val: v, path: p})
		}
	}
	if len(merges) > 0 {
		if d.mergeDepth >= 16 {
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
func (d *decoder) mergeSource(n ast.Node, path string) []entry {
	n, ok := d.resolve(n, path)
	if !ok {
		return nil
	}
	if s, isSeq := n.(*ast.SequenceNode); isSeq {
		var out []entry
		for _, it := range s.Values {
			es, _ := d.mapping(it, path)
			out = append(out, es...)
		}
		return out
	}
	if _, isMap := n.(*ast.MappingNode); !isMap {
		d.fail(n, path, "merge key (<<) needs a mapping or a list of mappings, got %s", kind(n))
		return nil
	}
	es, _ := d.mapping(n, path)
	return es
}

// items returns a sequence's items; null means an empty list.
func (d *decoder) items(e entry) []entry {
	if isNull(e.val) {
		return nil
	}
	s, isSeq := e.val.(*ast.SequenceNode)
	if !isSeq {
		d.fail(e.val, e.path, "expected a list, got %s", kind(e.val))
		return nil
	}
	out := make([]entry, 0, len(s.Values))
	for i, it := range s.Values {
		p := e.path + "[" + strconv.Itoa(i) + "]"
		v, ok := d.resolve(it, p)
		if !ok {
			continue
		}
		d.pos[p] = d.posOf(v)
		out = append(out, entry{keyN: it, val: v, path: p})
	}
	return out
}

// resolve follows anchors and aliases and drops tags, except that "!!str"
// turns any scalar into its literal text, as YAML defines.
func (d *decoder) resolve(n ast.Node, path string) (ast.Node, bool) {
	for range 64 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			t, ok := d.anchors[name]
			if !ok {
				d.fail(v, path, "alias *%s names no anchor", name)
				return nil, false
			}
			n = t
		case *ast.TagNode:
			if v.Start != nil && v.Start.Value == "!!str" {
				if s, isScalar := v.Value.(ast.ScalarNode); isScalar && !isNull(s) {
					tk := s.GetToken()
					return &ast.StringNode{BaseNode: &ast.BaseNode{}, Token: tk, Value: tk.Value}, true
				}
			}
			n = v.Value
		default:
			return n, true
		}
	}
	d.fail(n, path, "aliases nested too deeply")
	return nil, false
}

// collectAnchors records every &anchor so aliases can be resolved wherever
// the walk meets them.
func (d *decoder) collectAnchors(n ast.Node) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		d.anchors[v.Name.GetToken().Value] = v.Value
		d.collectAnchors(v.Value)
	case *ast.TagNode:
		d.collectAnchors(v.Value)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			d.collectAnchors(mv.Key)
			d.collectAnchors(mv.Value)
		}
	case *ast.MappingKeyNode:
		d.collectAnchors(v.Value)
	case *ast.SequenceNode:
		for _, it := range v.Values {
			d.collectAnchors(it)
		}
	}
}

// str decodes a string; numbers and booleans are refused rather than
// converted, since `version: 2.10` silently becoming "2.1" is worse than an
// error asking for quotes.
func (d *decoder) str(e entry, dst *string) bool {
	switch v := e.val.(type) {
	case *ast.StringNode:
		*dst = v.Value
		return true
	case *ast.LiteralNode:
		*dst = v.Value.Value
		return true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		d.fail(e.val, e.path, "expected a string, got %s %s (quote it: \"%s\")", kind(v), v.GetToken().Value, v.GetToken().Value)
	case nil, *ast.NullNode:
		d.fail(e.val, e.path, "expected a string, got nothing (write \"\" for an empty string)")
	default:
		d.fail(e.val, e.path, "expected a string, got %s", kind(e.val))
	}
	return false
}

func (d *decoder) strList(e entry) []string {
	var out []string
	for _, it := range d.items(e) {
		var s string
		if d.str(it, &s) {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) int(e entry, dst *int) {
	if v, ok := e.val.(*ast.IntegerNode); ok {
		switch n := v.Value.(type) {
		case int64:
			if int64(int(n)) == n {
				*dst = int(n)
				return
			}
		case uint64:
			if n <= uint64(int(^uint(0)>>1)) {
				*dst = int(n)
				return
			}
		}
		d.fail(e.val, e.path, "integer %s is out of range", v.Token.Value)
		return
	}
	d.fail(e.val, e.path, "expected an integer, got %s", describe(e.val))
}

func (d *decoder) bool(e entry, dst *bool) {
	if v, ok := e.val.(*ast.BoolNode); ok {
		*dst = v.Value
		return
	}
	d.fail(e.val, e.path, "expected true or false, got %s", describe(e.val))
}

func (d *decoder) duration(e entry, dst *Duration) {
	text, ok := scalarText(e.val)
	if !ok {
		d.fail(e.val, e.path, "expected a duration such as \"30s\", got %s", kind(e.val))
		return
	}
	v, err := ParseDuration(text)
	if err != nil {
		d.fail(e.val, e.path, "%v", err)
		return
	}
	*dst = v
}

func (d *decoder) size(e entry, dst *ByteSize) {
	text, ok := scalarText(e.val)
	if !ok {
		d.fail(e.val, e.path, "expected a size such as \"64KiB\", got %s", kind(e.val))
		return
	}
	v, err := ParseByteSize(text)
	if err != nil {
		d.fail(e.val, e.path, "%v", err)
		return
	}
	*dst = v
}

// fail reports a decoding error at n and marks path as failed.
func (d *decoder) fail(n ast.Node, path, format string, args ...any) {
	d.errs.markBad(path)
	d.errs.add(errorf(d.posOf(n), path, format, args...))
}

// yamlError converts a goccy/go-yaml error (which carries its token) into
// an *Error at that token.
func (d *decoder) yamlError(err error, path string) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		pos := Pos{File: d.file}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			pos.Line, pos.Col = tk.Position.Line, tk.Position.Column
		}
		return &Error{Pos: pos, Path: path, Msg: ye.GetMessage()}
	}
	return &Error{Pos: Pos{File: d.file}, Path: path, Msg: err.Error()}
}

func (d *decoder) posOf(n ast.Node) Pos { return nodePos(d.file, n) }

// nodePos returns where n starts. A block mapping's own token is its first
// ':' so its first key is used instead.
func nodePos(file string, n ast.Node) Pos {
	p := Pos{File: file}
	if n == nil {
		return p
	}
	tk := n.GetToken()
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 && !v.IsFlowStyle {
			return nodePos(file, v.Values[0].Key)
		}
		if v.Start != nil {
			tk = v.Start
		}
	case *ast.MappingValueNode:
		return nodePos(file, v.Key)
	case *ast.SequenceNode:
		if v.Start != nil {
			tk = v.Start
		}
	}
	if tk != nil && tk.Position != nil {
		p.Line, p.Col = tk.Position.Line, tk.Position.Column
	}
	return p
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// scalarText returns the text of a string or number scalar, for values
// (durations, sizes) whose own parser gives the better error message.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// kind names a node's YAML type the way an operator thinks of it.
func kind(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "nothing (null)"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return n.Type().String()
}

// describe is kind plus the scalar's text, e.g. `a string "yes"`.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return fmt.Sprintf("%s %q", kind(n), v.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return kind(n) + " " + v.GetToken().Value
	}
	return kind(n)
}
