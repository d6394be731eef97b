package admin

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/sluicehq/sluice/config"
)

// object is a JSON object that keeps its members in order, so /config
// reads in the order of the config structs (listen, admin, server, …)
// rather than alphabetically.
type object []member

type member struct {
	key string
	val any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// maxDepth bounds the walk; configs are a handful of levels deep, so
// anything deeper is a cycle or a structure that does not belong here.
const maxDepth = 24

var (
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	middlewareType    = reflect.TypeFor[*config.Middleware]()
)

// configTree turns cfg into a tree of object, []any and scalars, keyed by
// the YAML names an operator writes, with every default filled in. Only
// fields with a yaml tag are shown: derived and internal fields (parsed
// keys, file positions, resolved addresses) stay out.
func configTree(cfg *config.Config) object {
	t, _ := tree(reflect.ValueOf(cfg), 0).(object)
	return t
}

func tree(v reflect.Value, depth int) any {
	if !v.IsValid() || depth > maxDepth {
		return nil
	}
	if v.Type() == middlewareType {
		if v.IsNil() {
			return nil
		}
		return middlewareTree(v.Interface().(*config.Middleware), depth)
	}
	if v.Type().Implements(textMarshalerType) && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		if b, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			return string(b) // Duration, ByteSize: "30s", "64KiB"
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return tree(v.Elem(), depth+1)
	case reflect.Struct:
		return structTree(v, depth)
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		o := make(object, 0, len(keys))
		for _, k := range keys {
			o = append(o, member{fmt.Sprint(k), tree(v.MapIndex(k), depth+1)})
		}
		return o
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("[%d bytes]", v.Len()) // raw bytes are never shown
		}
		l := make([]any, v.Len())
		for i := range l {
			l[i] = tree(v.Index(i), depth+1)
		}
		return l
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil // funcs, channels, complex numbers: not config
}

// structTree lists the yaml-tagged exported fields of a struct in order;
// `,inline` fields are merged in.
func structTree(v reflect.Value, depth int) object {
	var o object
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !f.IsExported() || !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		val := tree(v.Field(i), depth+1)
		if strings.Contains(opts, "inline") {
			if in, ok := val.(object); ok {
				o = append(o, in...)
				continue
			}
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		o = append(o, member{name, val})
	}
	return o
}

// middlewareTree is an instance's type and its settings: the decoded
// settings struct with its defaults when the type stores one, else the
// instance's YAML as written.
func middlewareTree(m *config.Middleware, depth int) object {
	o := object{{"type", m.Type}}
	if m.Settings != nil {
		if s, ok := tree(reflect.ValueOf(m.Settings), depth+1).(object); ok {
			return append(o, s...)
		}
	}
	if len(m.Raw) == 0 {
		return o
	}
	var raw map[string]any
	if err := yaml.Unmarshal(m.Raw, &raw); err != nil {
		// Aliases to anchors elsewhere in the file do not parse alone.
		return append(o, member{"settings", "[not shown: written with YAML aliases]"})
	}
	delete(raw, "type")
	if s, ok := tree(reflect.ValueOf(raw), depth+1).(object); ok {
		o = append(o, s...)
	}
	return o
}
