package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Load reads the YAML file at path and parses it with Parse. A read failure
// is returned as is (it does not wrap ErrInvalid); every problem in the
// file's content is an *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly, applies defaults and validates the result.
// file names the source in positions and messages ("" for in-memory text).
// On failure the Config is nil and the error is an errors.Join of every
// *Error found, sorted by position; use Errors to get them back.
func Parse(file string, data []byte) (*Config, error) {
	d := newDecoder(file)
	body, ok := d.document(data)
	if !ok {
		return nil, d.errs.join()
	}
	cfg := Default()
	cfg.File = file
	cfg.pos = d.pos
	d.top(cfg, body)
	check(cfg, &d.errs)
	if err := d.errs.join(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decoder walks the YAML node tree itself, by the schema the config
// structs' yaml tags declare (schema.go), instead of handing it to a
// reflection-based unmarshaller: that is what lets it report every unknown
// key and wrong type (not just the first), keep an exact position for each
// value, and tell "missing" from "zero".
type decoder struct {
	file string
	pos  map[string]Pos // YAML path -> where its value is written
	errs errList
	// noun is what an unknown key is called: "key", or "field" in a
	// middleware's settings (Middleware.Decode), as their messages have
	// always said.
	noun string
	// mergeDepth bounds merge-key expansion, which a self-referencing
	// anchor would otherwise turn into endless recursion; depth and aliases
	// bound nesting and alias expansion the same way (yamlnode.go).
	mergeDepth, depth, aliases int
	tooDeep                    bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: map[string]Pos{}, noun: "key"}
}

// document parses data, which must hold at most one YAML document, and
// returns its root (nil for an empty file). Duplicate keys are left to the
// decoder, which reports them together with every other problem. ok is
// false after a syntax error, which has been reported.
func (d *decoder) document(data []byte) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return root, true
		}
		if err != nil {
			d.errs.add(syntaxError(d.file, data, err))
			return nil, false
		}
		if i == 0 {
			root = &doc
			continue
		}
		// A second "---" with nothing after it is harmless; content would
		// be silently ignored, so it is an error.
		if body, _ := d.resolve(&doc, ""); body != nil && !(isNull(body) && body.Value == "") {
			d.fail(body, "", "a config file holds one YAML document; found another one here")
			return root, true
		}
	}
}

// syntaxError turns a parse error into an *Error. yaml/v4 gives the
// place it noticed the problem and, for an unclosed construct (a quote, a
// bracket), where that construct starts: the error points at the start,
// which is what needs fixing, and says where the parser gave up.
func syntaxError(file string, data []byte, err error) *Error {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &Error{Pos: Pos{File: file}, Msg: err.Error()}
	}
	pos, msg := Pos{File: file, Line: le.Mark.Line, Col: le.Mark.Column}, le.Message
	if name, found := strings.CutPrefix(msg, "unknown anchor '"); found {
		msg = "alias *" + strings.TrimSuffix(name, "' referenced") + " names no anchor"
	}
	if loneDash(data, pos) {
		// YAML 1.2 reads "-" before a space, ',', ']' or '}' as a list
		// entry, never as text; goccy/go-yaml and yaml/v3 let
		// `{path: -}` through.
		msg += ` (a lone "-" is a list entry in YAML; write "-" in quotes for the text)`
	}
	if c := le.ContextMark; c.Line > 0 && (c.Line != pos.Line || c.Column != pos.Col) {
		msg += fmt.Sprintf(" (%s that starts here; found at %d:%d)", le.ContextMsg, pos.Line, pos.Col)
		pos.Line, pos.Col = c.Line, c.Column
	}
	return &Error{Pos: pos, Msg: msg}
}

// loneDash reports whether a '-' that is not followed by more text is at
// pos (1-based line and character column) in data.
func loneDash(data []byte, pos Pos) bool {
	lines := strings.Split(string(data), "\n")
	if pos.Line < 1 || pos.Line > len(lines) || pos.Col < 1 {
		return false
	}
	rs := []rune(lines[pos.Line-1])
	i := pos.Col - 1
	return i < len(rs) && rs[i] == '-' && (i+1 == len(rs) || strings.ContainsRune(" \t\r,]}", rs[i+1]))
}

func (d *decoder) top(c *Config, n *yaml.Node) {
	r, ok := d.resolve(n, "")
	if !ok || isNull(r) {
		return
	}
	if r.Kind != yaml.MappingNode {
		d.fail(r, "", "a config file is a mapping of top-level keys (listen, clusters, routes, …), got %s", kind(r))
		return
	}
	d.value(entry{val: r}, reflect.ValueOf(c).Elem(), false)
}

// The config types whose decoding needs more than their fields: defaults
// per entry, a position, a shorthand.
func init() {
	// A cluster starts from its defaults; errors about the cluster as a
	// whole point at its name.
	typeHooks[reflect.TypeFor[*Cluster]()] = func(d *decoder, e entry, v reflect.Value) {
		c := newCluster(e.key, d.posOf(e.keyN))
		d.pos[e.path] = c.Pos
		d.structValue(e, reflect.ValueOf(c).Elem())
		v.Set(reflect.ValueOf(c))
	}
	// A target is a mapping or, shorthand, its URL: "- http://host:port".
	typeHooks[reflect.TypeFor[Target]()] = func(d *decoder, e entry, v reflect.Value) {
		t := Target{Weight: 1, Pos: d.posOf(e.val)}
		if isText(e.val) {
			d.str(e, &t.URL)
		} else {
			d.structValue(e, reflect.ValueOf(&t).Elem())
		}
		v.Set(reflect.ValueOf(t))
	}
	typeHooks[reflect.TypeFor[*Route]()] = func(d *decoder, e entry, v reflect.Value) {
		r := &Route{Pos: d.posOf(e.val)}
		d.structValue(e, reflect.ValueOf(r).Elem())
		v.Set(reflect.ValueOf(r))
	}
	// Of a middleware instance only `type` is ours; every other key belongs
	// to the type's decoder, which gets the node (Middleware.Decode).
	typeHooks[reflect.TypeFor[*Middleware]()] = func(d *decoder, e entry, v reflect.Value) {
		m := &Middleware{Name: e.key, Pos: d.posOf(e.keyN), node: e.val}
		d.pos[e.path] = m.Pos
		if !isNull(e.val) && e.val.Kind != yaml.MappingNode {
			d.fail(e.val, e.path, "expected a mapping, got %s", kind(e.val))
			return // the instance is left out
		}
		// The pairs are read by a scratch decoder: what is wrong with them
		// (a duplicate key, a merge cycle) is reported once, by
		// Middleware.Decode, not here as well.
		scratch := newDecoder(d.file)
		kvs, _ := scratch.mapping(e.val, e.path)
		for _, kv := range kvs {
			d.pos[kv.path] = scratch.pos[kv.path]
			if kv.key == "type" {
				d.str(kv, &m.Type)
			}
		}
		if !isNull(e.val) {
			// From a copy: encoding clears the tags of the nodes it walks.
			if b, err := yaml.Marshal(cloneNode(e.val, map[*yaml.Node]*yaml.Node{})); err == nil {
				m.Raw = b
			}
		}
		v.Set(reflect.ValueOf(m))
	}
}

// cloneNode deep-copies n; seen maps originals to copies, so an alias
// points at the copy of its anchor and a cycle ends.
func cloneNode(n *yaml.Node, seen map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := seen[n]; ok {
		return c
	}
	c := new(yaml.Node)
	seen[n] = c
	*c = *n
	c.Alias = cloneNode(n.Alias, seen)
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = cloneNode(x, seen)
	}
	return c
}
