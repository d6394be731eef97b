package config

// The schema decoder. Each config key is spelled once: as the yaml tag of
// its Go field (types.go, observe.go, …). The decoder reads the tags by
// reflection, so the same spelling drives decoding, unknown-key errors with
// their did-you-mean hints, and the /config view (admin/tree.go).
//
// To add a key, add the field with its tag and doc comment, e.g.
//
//	// MaxFoo (yaml `max_foo`) caps foo. Default 1MiB; 0 = off.
//	MaxFoo ByteSize `yaml:"max_foo"`
//
// then give it its default in Default (or newCluster) and check its range
// in validate.go. Nothing else: there is no list of keys to update. (A key
// written for the earlier decoder, a fieldSet line in load.go plus a tagged
// field, ports by deleting the fieldSet line.) The Go type picks the rules:
//
//   - string: a string; numbers and booleans are refused (quote them)
//   - bool, int*, uint*, float*: that YAML type only (a float takes an
//     integer too); integers are range-checked against the Go type
//   - Duration ("30s", a unit is required), ByteSize ("64KiB" or bytes)
//   - struct: a mapping of its own keys; *T: the value, and "written"
//     (nil when the key is absent, as Route.Metrics uses)
//   - []T: a list (null is an empty one); []int also takes one number
//     (expect_status: 200); the tag option `,text` lets a []string hold
//     numbers as written (retries.on: [connect_failure, 502])
//   - map[string]T: a mapping; any: whatever is written (string, int64,
//     float64, bool, nil, []any, map[string]any)
//
// A type that needs more (a string shorthand, per-entry defaults, its
// position) gets a hook in typeHooks (load.go). Decoding never stops at the
// first problem: each one is an *Error at its node, and Parse reports them
// all together.

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"
)

// maxDepth bounds how deep values nest: the config is a handful of levels
// deep, so more is an alias cycle feeding a free-form (any) value.
const maxDepth = 64

// field is one key of a struct's schema.
type field struct {
	index []int // reflect index path; more than one step for `,inline`
	text  bool  // `,text`: list items may be any scalar, kept as written
}

// schema is a struct's keys, from its yaml tags.
type schema struct {
	fields map[string]field
	names  []string // sorted, for error messages
}

var schemas sync.Map // reflect.Type -> *schema

// schemaOf returns t's keys: each exported field with a yaml tag other
// than "-" (fields without one are derived or internal, never written).
// `,inline` merges a struct field's keys into its parent's.
func schemaOf(t reflect.Type) *schema {
	if s, ok := schemas.Load(t); ok {
		return s.(*schema)
	}
	s := &schema{fields: map[string]field{}}
	var add func(t reflect.Type, prefix []int)
	add = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup("yaml")
			if !f.IsExported() || !ok || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			optList := strings.Split(opts, ",")
			index := append(slices.Clone(prefix), i)
			if slices.Contains(optList, "inline") && f.Type.Kind() == reflect.Struct {
				add(f.Type, index)
				continue
			}
			if name == "" {
				panic("config: field " + t.String() + "." + f.Name + " has a yaml tag without a name")
			}
			if _, dup := s.fields[name]; dup {
				panic("config: key " + name + " is declared twice in " + t.String())
			}
			s.fields[name] = field{index: index, text: slices.Contains(optList, "text")}
			s.names = append(s.names, name)
		}
	}
	add(t, nil)
	slices.Sort(s.names)
	v, _ := schemas.LoadOrStore(t, s)
	return v.(*schema)
}

// hook decodes e into v for a Go type whose rules the field's kind alone
// does not give.
type hook func(d *decoder, e entry, v reflect.Value)

// typeHooks is filled by init functions (load.go), which may refer to the
// decoder's methods; a composite literal here could not.
var typeHooks = map[reflect.Type]hook{}

func init() {
	typeHooks[reflect.TypeFor[Duration]()] = func(d *decoder, e entry, v reflect.Value) {
		if x, ok := d.duration(e); ok {
			v.SetInt(int64(x))
		}
	}
	typeHooks[reflect.TypeFor[ByteSize]()] = func(d *decoder, e entry, v reflect.Value) {
		if x, ok := d.size(e); ok {
			v.SetInt(int64(x))
		}
	}
}

// structValue decodes a mapping into the struct v.
func (d *decoder) structValue(e entry, v reflect.Value) {
	es, _ := d.mapping(e.val, e.path)
	d.structEntries(es, v)
}

// structEntries decodes each pair into its field of v; an unknown key is
// an error at the key, naming the known ones.
func (d *decoder) structEntries(es []entry, v reflect.Value) {
	s := schemaOf(v.Type())
	for _, kv := range es {
		f, ok := s.fields[kv.key]
		if !ok {
			d.fail(kv.keyN, kv.path, "unknown %s %q%s (known %ss: %s)", d.noun, kv.key, suggest(kv.key, s.names), d.noun, strings.Join(s.names, ", "))
			continue
		}
		d.value(kv, v.FieldByIndex(f.index), f.text)
	}
}

// value decodes e into v by v's type; see the top of this file.
func (d *decoder) value(e entry, v reflect.Value, text bool) {
	if !d.enter(e) {
		return
	}
	defer d.leave()
	if h := typeHooks[v.Type()]; h != nil {
		h(d, e, v)
		return
	}
	switch k := v.Kind(); k {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(e, p.Elem(), text)
		v.Set(p)
	case reflect.Struct:
		d.structValue(e, v)
	case reflect.String:
		var s string
		if d.str(e, &s) {
			v.SetString(s)
		}
	case reflect.Bool:
		if b, ok := d.bool(e); ok {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		lo := int64(-1) << (v.Type().Bits() - 1)
		if n, ok := d.int64(e, lo, ^lo); ok {
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := d.uint64(e, math.MaxUint64>>(64-v.Type().Bits())); ok {
			v.SetUint(n)
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := d.float(e); ok {
			v.SetFloat(f)
		}
	case reflect.Slice:
		d.slice(e, v, text)
	case reflect.Map:
		d.mapValue(e, v)
	case reflect.Interface:
		if v.NumMethod() > 0 {
			d.fail(e.val, e.path, "internal error: no decoder for Go type %s", v.Type())
			return
		}
		if x := d.anyValue(e); x != nil {
			v.Set(reflect.ValueOf(x))
		} else {
			v.SetZero()
		}
	default:
		d.fail(e.val, e.path, "internal error: no decoder for Go type %s", v.Type())
	}
}

// slice decodes a list into v, replacing what v held (a default such as
// [502, 503, 504]): the list as written, empty included.
func (d *decoder) slice(e entry, v reflect.Value, text bool) {
	et := v.Type().Elem()
	if isScalar(e.val, "!!int") && et.Kind() >= reflect.Int && et.Kind() <= reflect.Int64 {
		x := reflect.New(et).Elem()
		d.value(e, x, false)
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), x))
		return
	}
	es, ok := d.items(e)
	if !ok {
		return
	}
	out := reflect.MakeSlice(v.Type(), len(es), len(es))
	for i, it := range es {
		if text && et.Kind() == reflect.String && it.val.Kind == yaml.ScalarNode && !isNull(it.val) && !isText(it.val) {
			out.Index(i).SetString(it.val.Value)
			continue
		}
		d.value(it, out.Index(i), false)
	}
	v.Set(out)
}

// mapValue adds a mapping's pairs to the map v (made if nil and the value
// is not null). An entry a hook left nil was refused and is left out.
func (d *decoder) mapValue(e entry, v reflect.Value) {
	if v.Type().Key().Kind() != reflect.String {
		d.fail(e.val, e.path, "internal error: map keys of Go type %s", v.Type().Key())
		return
	}
	es, ok := d.mapping(e.val, e.path)
	if !ok || isNull(e.val) {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(es)))
	}
	for _, kv := range es {
		x := reflect.New(v.Type().Elem()).Elem()
		d.value(kv, x, false)
		if x.Kind() == reflect.Pointer && x.IsNil() {
			continue
		}
		v.SetMapIndex(reflect.ValueOf(kv.key).Convert(v.Type().Key()), x)
	}
}

// enter counts one level of nesting; false (reported once) past maxDepth.
func (d *decoder) enter(e entry) bool {
	if d.depth >= maxDepth {
		if !d.tooDeep {
			d.tooDeep = true
			d.fail(e.val, e.path, "values nested too deeply (a cycle of aliases?)")
		}
		return false
	}
	d.depth++
	return true
}

func (d *decoder) leave() { d.depth-- }
