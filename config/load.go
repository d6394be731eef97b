package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
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

// syntaxError turns a yaml/v3 parse error ("yaml: line 3: did not find
// expected key") into an *Error. yaml/v3 reports the line only, so the
// column is where that line's text starts, or where the alias is for an
// alias that names no anchor; an error at the end of the input points at
// the last line.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	lines := strings.Split(string(data), "\n")
	line := len(lines)
	if rest, found := strings.CutPrefix(msg, "line "); found {
		if n, m, cut := strings.Cut(rest, ": "); cut {
			if l, aerr := strconv.Atoi(n); aerr == nil && l >= 1 && l <= len(lines) {
				line, msg = l, m
			}
		}
	}
	if name, found := strings.CutPrefix(msg, "unknown anchor '"); found {
		// yaml/v3 may name the line after the alias: point at the alias.
		name = strings.TrimSuffix(name, "' referenced")
		msg = "alias *" + name + " names no anchor"
		for l := range slices.Backward(lines[:line]) {
			if i := strings.Index(lines[l], "*"+name); i >= 0 {
				return &Error{Pos: Pos{File: file, Line: l + 1, Col: utf8.RuneCountInString(lines[l][:i]) + 1}, Msg: msg}
			}
		}
	}
	text := lines[line-1]
	col := len(text) - len(strings.TrimLeft(text, " \t"))
	return &Error{Pos: Pos{File: file, Line: line, Col: utf8.RuneCountInString(text[:col]) + 1}, Msg: msg}
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
			if b, err := yaml.Marshal(e.val); err == nil {
				m.Raw = b
			}
		}
		v.Set(reflect.ValueOf(m))
	}
}
