package incident

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// JobKinds lists every JobKind constant the package declares, once: a
// kind left out of it would have no executor checked at start.
func TestJobKindsListsEveryKind(t *testing.T) {
	t.Parallel()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var declared []JobKind
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "JobKind" {
					continue
				}
				for _, val := range v.Values {
					lit, ok := val.(*ast.BasicLit)
					if !ok {
						t.Fatalf("a JobKind constant that is not a literal: %T", val)
					}
					k, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared = append(declared, JobKind(k))
				}
			}
		}
	}
	listed := JobKinds()
	slices.Sort(declared)
	sorted := slices.Clone(listed)
	slices.Sort(sorted)
	if len(declared) < 16 || !slices.Equal(declared, sorted) {
		t.Errorf("JobKinds() = %v;\nthe package declares %v", sorted, declared)
	}
	if len(slices.Compact(sorted)) != len(listed) {
		t.Errorf("JobKinds() lists a kind twice: %v", listed)
	}
}
