// Package archtest holds warroom's import rules as a test; docs/ARCHITECTURE.md
// explains them. Every import of every package of the module, as
// `go list` reports it (test files aside), must pass allowed:
//
//   - incident is the ground floor: it imports no other package of the
//     project; incident/... (the store) imports only incident.
//   - rules imports only incident; correlate only incident, rules and the
//     integrations.
//   - integrations/<system> imports only its own tree (a fake may import
//     its client) and integrations/internal: a typed client knows its
//     outside system, not the domain.
//   - internal/... (test support) imports neither cmd nor the bot.
//   - bot is the composition root and may import any room; cmd and e2e
//     may import anything, and nothing imports cmd.
//
// The rooms of bot:
//
//   - bot/config imports only rules and incident.
//   - bot/render, bot/render/slackmsg and bot/render/jirawiki are pure:
//     they import incident, bot/render (the part both media share) and
//     the standard library, and slackmsg also slack-go's root package,
//     whose Block Kit types are the values it returns.
//   - bot/render/postmortem, the Markdown of the postmortem's draft, is
//     pure like them: incident, bot/render and the standard library.
//   - bot/steps/<system> imports bot/steps but no other executor, and no
//     step imports bot/config, bot/httpapi or bot/slackbot: the root
//     hands an executor its settings as plain values.
//   - bot/steps/dryrun imports no client of an outside system: it logs
//     the plans of bot/steps, and has nothing to send them with.
//   - bot/telemetry (process metrics, outside calls, tracing) imports
//     nothing of the project: the root hands its transports to the
//     clients and its tracer to the domain.
//   - bot/page (the read-only incident page) imports incident and
//     bot/render and, outside the module, the standard library only.
//   - bot/httpapi and bot/slackbot import no executor, neither each other,
//     and no client of an outside system. The one package under
//     integrations that httpapi may import is integrations/alertmanager/payload,
//     the webhook's wire format; it imports only the standard library and
//     not net/http, so that it stays types and validation, never a client.
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

// rel is an import path relative to the module ("bot/config"), or the path
// itself for a package outside it ("net/http", "github.com/slack-go/slack").
func rel(p string) string {
	if p == module {
		return ""
	}
	if r, ok := strings.CutPrefix(p, module+"/"); ok {
		return r
	}
	return p
}

func inModule(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

// under reports whether p is dir or a package below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// std reports whether p (not of the module) is of the standard library:
// its first element has no dot.
func std(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }

// payload is the one package under integrations that the HTTP surface may
// import: the webhook payload types.
const payload = "integrations/alertmanager/payload"

// allowed says whether the package from may import to (full import paths).
func allowed(from, to string) bool {
	f, d := rel(from), rel(to)
	if !inModule(to) {
		return allowedOutside(f, d)
	}
	if under(d, "cmd") {
		return false // main packages are imported by nobody
	}
	switch {
	case f == "incident":
		return false // the ground floor
	case f == payload:
		return false
	case under(f, "integrations"):
		// Only its own package tree (a fake may import its client),
		// and what the fakes share.
		return under(d, strings.Join(strings.SplitN(f, "/", 3)[:2], "/")) || under(d, "integrations/internal")
	case f == "rules":
		return d == "incident"
	case f == "correlate":
		return d == "incident" || d == "rules" || under(d, "integrations")
	case under(f, "incident"):
		return d == "incident"
	case under(f, "internal/archtest"):
		return true
	case under(f, "internal"):
		return !under(d, "bot")
	case f == "bot/config":
		return d == "incident" || d == "rules"
	case f == "bot/render":
		return d == "incident"
	case f == "bot/render/postmortem":
		return d == "incident" || d == "bot/render"
	case under(f, "bot/render"):
		return d == "incident" || d == "bot/render"
	case f == "bot/steps":
		return !under(d, "bot") || under(d, "bot/render")
	case f == "bot/steps/dryrun":
		return !under(d, "bot") && !under(d, "integrations") || under(d, "bot/render") || d == "bot/steps"
	case under(f, "bot/steps"):
		return !under(d, "bot") || under(d, "bot/render") || d == "bot/steps"
	case f == "bot/httpapi":
		return !under(d, "integrations") && !under(d, "bot") ||
			d == payload || d == "bot/config" || under(d, "bot/render")
	case f == "bot/slackbot":
		return !under(d, "integrations") && !under(d, "bot") ||
			d == "bot/config" || under(d, "bot/render")
	case f == "bot/telemetry":
		return false // metrics and tracing of the process: nothing of the project
	case f == "bot/page":
		return d == "incident" || d == "bot/render" // reads the store, renders; changes nothing
	case strings.HasPrefix(f, "bot/"):
		return false // a room this test does not know yet: give it its rule
	}
	return true // the bot's root, cmd and e2e may use anything of the project
}

// allowedOutside says whether the package f (relative) may import d, a
// package outside the module.
func allowedOutside(f, d string) bool {
	switch {
	case f == payload:
		return std(d) && !under(d, "net/http")
	case f == "bot/render/slackmsg":
		return std(d) || d == "github.com/slack-go/slack"
	case under(f, "bot/render"):
		return std(d)
	case f == "bot/page":
		return std(d) // html/template: no outside library renders the page
	}
	return true
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
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[rel(p.ImportPath)] = true
		for _, imp := range p.Imports {
			if !allowed(p.ImportPath, imp) {
				t.Errorf("%s imports %s: against the import rules (docs/ARCHITECTURE.md)", p.ImportPath, imp)
			}
		}
	}
	// The rules name these rooms: a rename must bring its rule along.
	for _, room := range []string{"bot", "bot/config", "bot/render", "bot/render/slackmsg", "bot/render/jirawiki", "bot/render/postmortem",
		"bot/steps", "bot/steps/slackroom", "bot/steps/jiraticket", "bot/steps/evidence", "bot/steps/actions",
		"bot/steps/paging", "bot/steps/dryrun", "bot/httpapi", "bot/slackbot", payload,
		"bot/page"} {
		if !seen[room] {
			t.Errorf("no package %s: the rules of this test name it", room)
		}
	}
}

// The rule function refuses what the rules forbid, so that a broken rule
// makes TestDependencyRule fail: each edge here is a synthetic import
// that no package makes.
func TestAllowedRefusesBrokenRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		// Rendering is pure.
		{"bot/render/slackmsg", "bot/httpapi", false},
		{"bot/render/slackmsg", "bot/steps", false},
		{"bot/render/jirawiki", "bot/config", false},
		{"bot/render/jirawiki", "bot/render/slackmsg", false},
		{"bot/render", "bot/render/slackmsg", false},
		{"bot/render/slackmsg", "integrations/slack", false},
		{"bot/render/jirawiki", "github.com/slack-go/slack", false},
		{"bot/render/slackmsg", "github.com/slack-go/slack/socketmode", false},
		{"bot/render/slackmsg", "github.com/prometheus/client_golang/prometheus", false},
		{"bot/render/slackmsg", "incident", true},
		{"bot/render/slackmsg", "bot/render", true},
		{"bot/render/slackmsg", "github.com/slack-go/slack", true},
		{"bot/render/jirawiki", "net/url", true},
		{"bot/render/postmortem", "bot/render/jirawiki", false},
		{"bot/render/postmortem", "bot/steps", false},
		{"bot/render/postmortem", "github.com/yuin/goldmark", false},
		{"bot/render/postmortem", "bot/render", true},
		{"bot/render/postmortem", "incident", true},
		// Steps take no surface and no configuration, and stay apart.
		{"bot/steps/slackroom", "bot/config", false},
		{"bot/steps/jiraticket", "bot/httpapi", false},
		{"bot/steps/actions", "bot/slackbot", false},
		{"bot/steps/dryrun", "bot/steps/slackroom", false},
		{"bot/steps/dryrun", "integrations/slack", false},
		{"bot/steps/dryrun", "integrations/jira", false},
		{"bot/steps/dryrun", "integrations/alertmanager", false},
		{"bot/steps/dryrun", "integrations/pagerduty", false},
		{"bot/steps/paging", "bot/steps/actions", false},
		{"bot/steps/paging", "integrations/pagerduty", true},
		{"bot/steps/dryrun", "bot/steps", true},
		{"bot/steps/dryrun", "bot/render/slackmsg", true},
		{"bot/steps", "bot/config", false},
		{"bot/steps", "bot/steps/slackroom", false},
		{"bot/steps/slackroom", "bot", false},
		{"bot/steps/slackroom", "integrations/slack", true},
		{"bot/steps/evidence", "correlate", true},
		{"bot/steps/jiraticket", "bot/render/jirawiki", true},
		{"bot/steps/jiraticket", "bot/steps", true},
		// The surfaces take no executor and no outside client.
		{"bot/httpapi", "bot/steps", false},
		{"bot/httpapi", "bot/steps/dryrun", false},
		{"bot/httpapi", "bot/slackbot", false},
		{"bot/httpapi", "integrations/alertmanager", false},
		{"bot/httpapi", "integrations/slack", false},
		{"bot/httpapi", "bot", false},
		{"bot/slackbot", "bot/steps/actions", false},
		{"bot/slackbot", "bot/httpapi", false},
		{"bot/slackbot", "integrations/slack", false},
		{"bot/slackbot", "integrations/alertmanager/payload", false},
		{"bot/httpapi", "integrations/alertmanager/payload", true},
		{"bot/httpapi", "bot/config", true},
		{"bot/slackbot", "bot/render/slackmsg", true},
		{"bot/slackbot", "github.com/slack-go/slack/socketmode", true},
		// The incident page reads and renders: no executor, no surface,
		// no configuration, no client, no library beyond the standard one.
		{"bot/page", "bot/steps", false},
		{"bot/page", "bot/httpapi", false},
		{"bot/page", "bot/config", false},
		{"bot/page", "bot/render/slackmsg", false},
		{"bot/page", "integrations/slack", false},
		{"bot/page", "github.com/slack-go/slack", false},
		{"bot/page", "incident", true},
		{"bot/page", "bot/render", true},
		{"bot/page", "html/template", true},
		{"bot/httpapi", "bot/page", false},
		// The payload package stays types.
		{"integrations/alertmanager/payload", "net/http", false},
		{"integrations/alertmanager/payload", "integrations/alertmanager", false},
		{"integrations/alertmanager/payload", "unicode/utf8", true},
		// Config is a leaf; the floors stay floors.
		{"bot/config", "bot/render", false},
		{"bot/config", "rules", true},
		{"incident", "rules", false},
		{"integrations/slack", "incident", false},
		{"correlate", "bot/render", false},
		{"internal/storetest", "bot/config", false},
		{"bot/newroom", "incident", false},
		{"bot", "cmd/warroom", false},
		{"bot", "bot/steps/slackroom", true},
		{"cmd/warroom", "bot/config", true},
	} {
		abs := func(p string) string { // the module's packages are written relative
			switch strings.SplitN(p, "/", 2)[0] {
			case "bot", "incident", "integrations", "rules", "correlate", "internal", "cmd", "e2e":
				return module + "/" + p
			}
			return p
		}
		if got := allowed(abs(tc.from), abs(tc.to)); got != tc.ok {
			t.Errorf("allowed(%s → %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}
