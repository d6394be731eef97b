package validate

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// loadSchema reads and compiles the JSON Schema file at path. Errors name
// the file, with line:column for a file that is not JSON.
func loadSchema(path string, assertFormat bool) (*jsonschema.Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := decodeJSON(b)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			line, col := lineCol(b, se.off)
			return nil, fmt.Errorf("%s:%d:%d: not JSON: %s", path, line, col, se.msg)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if assertFormat {
		c.AssertFormat()
	}
	loc := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		var bad *jsonschema.SchemaValidationError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%s: %s", path, schemaProblems(bad.Err))
		}
		return nil, fmt.Errorf("%s: %s", path, strings.ReplaceAll(err.Error(), loc, "the schema"))
	}
	return sch, nil
}

// noLoader refuses every $ref outside the schema file: Build must read
// nothing the reload fingerprint does not see (ReloadInputs names one
// file) and must never fetch a URL.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, errors.New("only references within the schema file are supported")
}

// lineCol turns a byte offset in b into a 1-based line and column (bytes).
func lineCol(b []byte, off int) (line, col int) {
	line, col = 1, 1
	for _, c := range b[:min(off, len(b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// printer renders the library's messages (English, as it would by default).
var printer = message.NewPrinter(language.English)

// describe renders a validation failure as "pointer: keyword: message" for
// the first failing rule: the failing field's JSON pointer ("(root)" for the
// document itself), the schema keyword that failed, and the library's
// message. The tree of causes is walked down its first branch through the
// wrappers (the schema, a $ref, allOf, a group of property errors) to the
// rule that failed; anyOf and oneOf stop the walk, since no single branch
// is the one that should have matched. Only on a failure.
func describe(err error) []byte {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []byte(err.Error())
	}
	for len(ve.Causes) > 0 {
		switch ve.ErrorKind.(type) {
		case *kind.Schema, *kind.Reference, *kind.AllOf, *kind.Group:
			ve = ve.Causes[0]
			continue
		}
		break
	}
	return appendRule(nil, ve)
}

// appendRule appends "pointer: keyword: message" for one failed rule.
func appendRule(b []byte, ve *jsonschema.ValidationError) []byte {
	if len(ve.InstanceLocation) == 0 {
		b = append(b, "(root)"...)
	}
	for _, tok := range ve.InstanceLocation {
		b = append(b, '/')
		b = append(b, pointerEscaper.Replace(tok)...)
	}
	msg := ve.ErrorKind.LocalizedString(printer)
	switch k := ve.ErrorKind.(type) {
	case *kind.AnyOf:
		msg = "matches none of the alternatives"
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			msg = "matches none of the alternatives"
		} else {
			msg = fmt.Sprintf("matches more than one alternative (%d and %d)", k.Subschemas[0], k.Subschemas[1])
		}
	}
	if kw := ve.ErrorKind.KeywordPath(); len(kw) > 0 {
		k := kw[len(kw)-1]
		if !strings.HasPrefix(msg, k+":") {
			b = append(b, ": "...)
			b = append(b, k...)
		}
	}
	b = append(b, ": "...)
	return append(b, msg...)
}

// schemaProblems renders why a schema file is not a valid schema, on one
// line: the failed rules of the meta-schema (the leaves of the tree, at
// most three), each at its place in the schema file.
func schemaProblems(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var out []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 && len(out) < 3 {
			out = append(out, string(appendRule(nil, e)))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return "not a valid JSON Schema: " + strings.Join(out, "; ")
}

// pointerEscaper escapes a JSON pointer token (RFC 6901 §3).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
