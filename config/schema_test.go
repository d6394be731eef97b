package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
)

// TestDocCommentsNameTheirTag: a field's doc may mention its key as
// "(yaml `name`)"; the tag is the key, so the two must agree.
func TestDocCommentsNameTheirTag(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	mention := regexp.MustCompile("\\(yaml `([a-z_]+)`")
	checked := 0
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			fld, ok := n.(*ast.Field)
			if !ok || fld.Tag == nil || fld.Doc == nil || len(fld.Names) != 1 {
				return true
			}
			tag, _ := strconv.Unquote(fld.Tag.Value)
			name := reflect.StructTag(tag).Get("yaml")
			if m := mention.FindStringSubmatch(fld.Doc.Text()); m != nil {
				checked++
				if name != m[1] && name != m[1]+",text" {
					t.Errorf("%s: %s's doc says (yaml `%s`), its tag is %q", fset.Position(fld.Pos()), fld.Names[0].Name, m[1], name)
				}
			}
			return true
		})
	}
	if checked < 40 {
		t.Errorf("only %d documented fields found", checked)
	}
}
