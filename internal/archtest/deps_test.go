// Package archtest holds the dependency rule of DESIGN.md §2 as a test:
// imports flow cmd → bot → {rules, correlate} → incident, and bot,
// correlate → integrations; incident is the ground floor, and the
// integrations know nothing of the domain.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/warroom/warroom"

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestDependencyRule(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	// allowed says which project packages a package may import.
	allowed := func(from, to string) bool {
		rel := func(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }
		f, d := rel(from), rel(to)
		under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
		switch {
		case f == "incident":
			return false // the ground floor
		case under(f, "integrations"):
			// Only its own package tree (a fake may import its client),
			// and what the fakes share.
			return strings.HasPrefix(d, strings.Join(strings.SplitN(f, "/", 3)[:2], "/")) || under(d, "integrations/internal")
		case f == "rules":
			return d == "incident"
		case f == "correlate":
			return d == "incident" || d == "rules" || under(d, "integrations")
		case under(f, "incident/"):
			return d == "incident"
		case under(f, "internal"):
			return !under(d, "cmd") && d != "bot" || under(f, "internal/archtest")
		case f == "bot":
			return !under(d, "cmd")
		}
		return true // cmd and e2e may use anything
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if !allowed(p.ImportPath, imp) {
				t.Errorf("%s imports %s: against the dependency rule of DESIGN.md §2", p.ImportPath, imp)
			}
		}
	}
}
