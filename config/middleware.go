package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"
)

// MiddlewareDecoder checks one middleware instance of its type strictly
// (unknown keys, wrong types, bad values) and may store the parsed settings
// in m.Settings. It returns nil, an *Error, or several joined with
// errors.Join; Middleware.Decode and Middleware.Errorf produce errors with
// file positions. It must not do I/O: it runs on every load and reload.
type MiddlewareDecoder func(m *Middleware) error

var registry = struct {
	sync.RWMutex
	m map[string]MiddlewareDecoder
}{m: map[string]MiddlewareDecoder{}}

// RegisterMiddlewareType makes typ a valid middleware `type`, checked by
// dec. Packages that implement a middleware call it from init, so this
// package never needs to know them. It panics if typ is empty, dec is nil or
// typ is already registered: all three are programming errors.
func RegisterMiddlewareType(typ string, dec MiddlewareDecoder) {
	if typ == "" || dec == nil {
		panic("config: RegisterMiddlewareType needs a type name and a decoder")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[typ]; dup {
		panic(fmt.Sprintf("config: middleware type %q registered twice", typ))
	}
	registry.m[typ] = dec
}

// MiddlewareTypes returns the registered middleware types, sorted.
func MiddlewareTypes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for t := range registry.m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func middlewareDecoder(typ string) MiddlewareDecoder {
	registry.RLock()
	defer registry.RUnlock()
	return registry.m[typ]
}

// Decode strictly decodes the instance's settings (every key except `type`)
// into v, a pointer to the type's settings struct, by the same rules as the
// rest of the config (schema.go): keys are the fields' yaml tags, and Go
// types pick how values are read (Duration and ByteSize included). Every
// unknown key and wrong type is reported, each an *Error at its place in
// the config file.
func (m *Middleware) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: Middleware.Decode needs a pointer to a struct, got %T", v)
	}
	d := newDecoder(m.Pos.File)
	d.noun = "field"
	node := m.node
	if node == nil {
		// Built in Go rather than parsed: fall back to Raw. Positions are
		// then relative to Raw.
		var ok bool
		if node, ok = d.document(m.Raw); !ok {
			return m.rebase(d.errs.errs)
		}
	}
	es, _ := d.mapping(node, "")
	es = slices.DeleteFunc(es, func(e entry) bool { return e.key == "type" })
	d.structEntries(es, rv.Elem())
	return m.rebase(d.errs.errs)
}

// rebase places errors from decoding the instance's settings in the
// instance: their path is the instance's, their position stays where the
// value is written.
func (m *Middleware) rebase(errs []*Error) error {
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		r := &Error{Pos: e.Pos, Path: "middleware." + m.Name, Msg: e.Msg}
		if r.Pos.IsZero() {
			r.Pos = m.Pos
		}
		out = append(out, r)
	}
	return errors.Join(out...)
}

// Errorf returns an *Error about key (a dotted path inside the instance,
// such as "rate" or "claims.role"; "" for the instance itself), positioned
// at that key's value when it is written, else at the instance.
func (m *Middleware) Errorf(key, format string, args ...any) *Error {
	path := joinPath("middleware."+m.Name, key)
	pos := m.Pos
	n := m.node
	for part := range strings.SplitSeq(key, ".") {
		if part == "" {
			break
		}
		n = lookup(n, part)
	}
	if n != nil && n != m.node {
		pos = nodePos(m.Pos.File, n)
	}
	return errorf(pos, path, format, args...)
}

// lookup returns the value of key in the mapping n (aliases followed, merge
// keys not), or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	for range maxAliasChain {
		if n == nil || n.Kind != yaml.AliasNode {
			break
		}
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			found = n.Content[i+1]
		}
	}
	return found
}
