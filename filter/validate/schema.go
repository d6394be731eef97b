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
		return nil, fmt.Errorf("%s: invalid schema: %s", path, strings.ReplaceAll(err.Error(), loc, "<this file>"))
	}
	return sch, nil
}

// noLoader refuses every $ref outside the schema file: Build must read
// nothing the reload fingerprint does not see (ReloadInputs names one
// file) and must never fetch a URL.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("$ref to %s: only references within the schema file are supported", u)
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
	var b []byte
	if len(ve.InstanceLocation) == 0 {
		b = append(b, "(root)"...)
	}
	for _, tok := range ve.InstanceLocation {
		b = append(b, '/')
		b = append(b, escapePointer(tok)...)
	}
	msg := ve.ErrorKind.LocalizedString(printer)
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

// pointerEscaper escapes a JSON pointer token (RFC 6901 §3).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(tok string) string { return pointerEscaper.Replace(tok) }
