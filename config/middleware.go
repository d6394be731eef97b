package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
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
// into v, a pointer to the type's settings struct. Unknown keys and wrong
// types are errors; each is an *Error at its place in the config file.
// Fields may use Duration and ByteSize.
func (m *Middleware) Decode(v any) error {
	node := m.node
	if node == nil {
		// Built in Go rather than parsed: fall back to Raw. Positions are
		// then relative to Raw.
		f, err := parser.ParseBytes(m.Raw, 0)
		if err != nil {
			return m.wrap(err)
		}
		if len(f.Docs) > 0 {
			node = f.Docs[0].Body
		}
	}
	if mn, ok := node.(*ast.MappingNode); ok {
		// Shallow copy without `type`, which is ours, not the type's.
		cp := *mn
		cp.Values = slices.DeleteFunc(slices.Clone(mn.Values), func(mv *ast.MappingValueNode) bool {
			return mv.Key.GetToken() != nil && mv.Key.GetToken().Value == "type"
		})
		node = &cp
	}
	if isNull(node) {
		return nil
	}
	if err := yaml.NodeToValue(node, v, yaml.Strict()); err != nil {
		return m.wrap(err)
	}
	return nil
}

// wrap turns a yaml error into an *Error in this instance.
func (m *Middleware) wrap(err error) *Error {
	e := &Error{Pos: m.Pos, Path: "middleware." + m.Name, Msg: err.Error()}
	var ce *Error
	var ye yaml.Error
	if errors.As(err, &ce) {
		e.Msg = ce.Msg
		if !ce.Pos.IsZero() {
			e.Pos.Line, e.Pos.Col = ce.Pos.Line, ce.Pos.Col
		}
	} else if errors.As(err, &ye) {
		e.Msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Pos.Line, e.Pos.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return e
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
		mn, ok := n.(*ast.MappingNode)
		if !ok {
			n = nil
			break
		}
		var next ast.Node
		for _, mv := range mn.Values {
			if tk := mv.Key.GetToken(); tk != nil && tk.Value == part {
				next = mv.Value
			}
		}
		n = next
	}
	if n != nil && n != m.node {
		pos = nodePos(m.Pos.File, n)
	}
	return errorf(pos, path, format, args...)
}
