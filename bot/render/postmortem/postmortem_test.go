package postmortem_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/postmortem"
	"github.com/warroom/warroom/incident"
)

var update = flag.Bool("update", false, "rewrite golden files")

// opened is when the golden incident's war room opened.
var opened = time.Date(2026, 11, 26, 4, 25, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// resolvedView is the payment-gateway incident of the fixtures, resolved:
// evidence with a suspect deploy and its target, a rollback asked for, a
// follow-up filed and one not yet, a note.
func resolvedView() postmortem.View {
	at := func(d time.Duration) time.Time { return opened.Add(d) }
	suspect := &incident.Deploy{Service: "payment-gateway", Env: "prod", SHA: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
		PreviousSHA: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", Author: "alice", URL: "https://ci.example.com/payment-gateway/runs/1842",
		FinishedAt: at(-13 * time.Minute)}
	target := &incident.Deploy{Service: "payment-gateway", Env: "prod", SHA: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", Author: "carol",
		FinishedAt: at(-3 * time.Hour)}
	inc := &incident.Incident{ID: "INC-1", Kind: incident.KindIncident, Service: "payment-gateway", Env: "prod", Rule: "api-error-rate",
		Severity: incident.Critical, State: incident.Resolved, WarRoom: true, Title: "payment-gateway error rate above 0.8%",
		Value: ptr(0.004), PeakValue: ptr(0.035), Threshold: ptr(0.008), OpenedAt: opened,
		AcknowledgedAt: ptr(at(3 * time.Minute)), MitigatedAt: ptr(at(21 * time.Minute)), ResolvedAt: ptr(at(78 * time.Minute)),
		Commander: "U0ALICE01", SlackChannelID: "C00000001", SlackChannel: "inc-20261126-payment-gateway-1", JiraKey: "OPS-1",
		SuspectDeploy: suspect.SHA,
		Evidence: &incident.Evidence{GatheredAt: at(time.Second), Round: 1, Deploys: []incident.Deploy{*suspect, *target},
			Suspect: suspect, Target: target, Rollback: "argocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
			CompareURL: "https://github.com/example/payment-gateway/compare/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567...9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
			Dashboards: []incident.EvidenceLink{{Title: "API golden signals", URL: "https://grafana.example.com/d/api-golden/api?var-service=payment-gateway"},
				{Title: "Elsewhere", URL: "https://evil.example.net/d/x"}},
			Traces: []incident.Trace{{ID: "4bf92f3577b34da6", Operation: "POST /v1/charges", Duration: 2314 * time.Millisecond,
				ErrorSpan: "pg.query", Error: "connection pool exhausted", URL: "https://jaeger.example.com/trace/4bf92f3577b34da6"}},
			TracesURL: "https://jaeger.example.com/search?service=payment-gateway&tags=%7B%22error%22%3A%22true%22%7D"}}
	tl := []incident.Event{
		{ID: 1, At: opened, Kind: incident.EventOpened, Actor: incident.ActorAlert, Text: "opened by rule api-error-rate: HighErrorRate 3.11% above 0.8%"},
		{ID: 2, At: at(time.Second), Kind: incident.EventStep, Actor: incident.ActorSystem, Text: "war room #inc-20261126-payment-gateway-1 created"},
		{ID: 3, At: at(2 * time.Second), Kind: incident.EventStep, Actor: incident.ActorSystem, Text: "evidence (round 1): suspect deploy 9f8e7d6; 1 failing traces; 1 dashboards"},
		{ID: 4, At: at(40 * time.Second), Kind: incident.EventAlertAttached, Actor: incident.ActorAlert, Text: "3 alerts attached: PodErrorRate payment-gateway-0 (557f9062c190c068) at 3.39%"},
		{ID: 5, At: at(3 * time.Minute), Kind: incident.EventAcknowledged, Actor: "U0ALICE01", Text: "acknowledged by U0ALICE01"},
		{ID: 6, At: at(9 * time.Minute), Kind: incident.EventNote, Actor: "U0BOB0001", Text: "pool saturated since the deploy"},
		{ID: 7, At: at(12 * time.Minute), Kind: incident.EventRollbackRequested, Actor: "U0ALICE01", Text: "rollback requested by U0ALICE01: 9f8e7d6 → 0a1b2c3"},
		{ID: 8, At: at(14 * time.Minute), Kind: incident.EventFollowup, Actor: "U0BOB0001", Text: "alert on pool saturation before errors"},
		{ID: 9, At: at(15 * time.Minute), Kind: incident.EventFollowupFiled, Actor: incident.ActorSystem, Text: incident.FollowupFiledText("OPS-2", "alert on pool saturation before errors")},
		{ID: 10, At: at(16 * time.Minute), Kind: incident.EventFollowup, Actor: "cli:carol", Text: "canary the payment-gateway deploys"},
		{ID: 11, At: at(21 * time.Minute), Kind: incident.EventMitigated, Actor: "U0ALICE01", Text: "mitigated by U0ALICE01"},
		{ID: 12, At: at(78 * time.Minute), Kind: incident.EventResolved, Actor: incident.ActorAlert, Text: "resolved by alert: all alerts resolved"},
	}
	alerts := []incident.Alert{
		{Fingerprint: "afb663c01ce7e058", Status: incident.AlertResolved, StartsAt: at(-22 * time.Second),
			Labels: map[string]string{"alertname": "HighErrorRate", "service": "payment-gateway"}},
		{Fingerprint: "557f9062c190c068", Status: incident.AlertResolved, StartsAt: at(30 * time.Second),
			Labels: map[string]string{"alertname": "PodErrorRate", "pod": "payment-gateway-0"}},
	}
	return postmortem.View{Incident: inc, Alerts: alerts, TotalAlerts: 4, Timeline: tl,
		Hosts: render.NewHosts([]string{"github.com", "ci.example.com"}, "https://grafana.example.com", "https://jaeger.example.com")}
}

// golden compares got with testdata/golden/name.md.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/render/postmortem -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("draft differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

// TestPostmortemGolden compares the drafts with their golden files; go
// test ./bot/render/postmortem -run Golden -update rewrites them.
func TestPostmortemGolden(t *testing.T) {
	t.Parallel()
	golden(t, "resolved", postmortem.Render(resolvedView()))

	// Open, with no evidence yet, no acknowledge and no follow-up.
	v := resolvedView()
	inc := *v.Incident
	inc.State, inc.ResolvedAt, inc.AcknowledgedAt, inc.MitigatedAt, inc.Evidence = incident.Triggered, nil, nil, nil, nil
	inc.JiraKey, inc.Commander = "", ""
	v.Incident, v.Timeline = &inc, v.Timeline[:2]
	golden(t, "open", postmortem.Render(v))

	// Recorded below the threshold first, a war room 10 minutes later,
	// mitigated with no acknowledge: the times count from the recording,
	// and the mitigate is the acknowledge, as warroom report counts them.
	v = resolvedView()
	inc = *v.Incident
	inc.OpenedAt, inc.AcknowledgedAt = opened.Add(-10*time.Minute), nil
	v.Incident = &inc
	var tl []incident.Event
	for _, e := range v.Timeline {
		switch e.Kind {
		case incident.EventOpened:
			tl = append(tl, incident.Event{ID: e.ID, At: inc.OpenedAt, Kind: incident.EventRecorded, Actor: incident.ActorAlert, Text: "recorded by rule api-error-rate: HighErrorRate 0.5% not above 0.8%"},
				incident.Event{ID: e.ID, At: opened, Kind: incident.EventEscalated, Actor: incident.ActorAlert, Text: "war room opened by rule api-error-rate: HighErrorRate 3.11% above 0.8%"})
		case incident.EventAcknowledged:
		default:
			tl = append(tl, e)
		}
	}
	v.Timeline = tl
	golden(t, "escalated", postmortem.Render(v))
}

// What the golden draft is meant to show, said once more in words.
func TestPostmortemContent(t *testing.T) {
	t.Parallel()
	md := postmortem.Render(resolvedView())
	for _, want := range []string{
		"# Postmortem: INC-1 payment-gateway error rate above 0.8%",
		"| Service | payment-gateway |",
		"| Severity | critical |",
		"| Started (first alert) | 2026-11-26 04:24:38 | |",
		"| Detected (war room opened) | 2026-11-26 04:25:00 | 22s after the start |",
		"| Acknowledged | 2026-11-26 04:28:00 | time to acknowledge: 3m |",
		"| Resolved | 2026-11-26 05:43:00 | time to resolve: 1h 18m |",
		"- Peak: 3.5% vs 0.8% threshold",
		"- Duration: 1h 18m, from the first alert to the resolve",
		"- **9f8e7d6** of payment-gateway (prod) by alice, finished 2026-11-26 04:12:00, 12m before the alert ([deploy](https://ci.example.com/payment-gateway/runs/1842))",
		"- Diff: [0a1b2c3…9f8e7d6](https://github.com/example/payment-gateway/compare/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567...9f8e7d6c5b4a39281706f5e4d3c2b1a098765432)",
		"- Last good revision (the rollback target): **0a1b2c3** by carol",
		"```\nargocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567\n```",
		"- Rollback requested by U0ALICE01 at 2026-11-26 04:37:00",
		"failed in pg.query: connection pool exhausted ([trace](https://jaeger.example.com/trace/4bf92f3577b34da6))",
		"- Board: [API golden signals](https://grafana.example.com/d/api-golden/api?var-service=payment-gateway)",
		"- 2026-11-26 04:28:00 · **Acknowledged** · U0ALICE01\n",
		"- 2026-11-26 04:34:00 · **Note** · U0BOB0001 · pool saturated since the deploy",
		"- [ ] alert on pool saturation before errors (asked by U0BOB0001 at 2026-11-26 04:39:00; OPS-2)",
		"- [ ] canary the payment-gateway deploys (asked by cli:carol at 2026-11-26 04:41:00)",
		"## Root cause\n\n_To be written._",
		"## What went well\n\n_To be written._",
		"## What to change\n\n_To be written._",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	// A board on a host links may not point at is left out.
	if strings.Contains(md, "evil.example.net") || strings.Contains(md, "Elsewhere") {
		t.Errorf("a board off the allowed hosts is in the draft:\n%s", md)
	}
}

// hostile are alert-supplied values that try to make Markdown.
var hostile = []string{
	"# Pwned\n## heading",
	"[click](https://evil.example.net/x)",
	"![img](https://evil.example.net/i.png)",
	"<script>alert(1)</script><img src=x onerror=alert(1)>",
	"<https://evil.example.net>",
	"https://evil.example.net/bare and www.evil.example.net",
	"mail me: root@evil.example.net",
	"**bold** _em_ ~~gone~~ `code`",
	"| a | b |\n|---|---|",
	"line\n\n---\n> quote\n- item\n1. item\n```\nfence",
	"&lt;b&gt; &#x3C;img&#x3E; $x^2$ @everyone",
	"\u202eevil\u200b\x00\x1b[31m",
	"\\[not a link\\](x)",
	"[ref]: https://evil.example.net",
	"- item", "+ item", "1. item", "2) item", "--- rule", "=== x", "#hash", "> quote", "    indented",
	"1.5% of requests", "C# and F#",
	"text [^1]\n\n[^1]: https://evil.example.net",
}

// Every alert-supplied value is inert: whatever its labels, annotations,
// deploy records and responders hold, the draft parses (as GitHub's
// Markdown, with its tables, task lists and bare-URL links) to the very
// document it is with a plain value in each place: no heading, list,
// quote, table, link, image, autolink, HTML, emphasis or code of the
// value's making.
func TestPostmortemHostile(t *testing.T) {
	t.Parallel()
	for _, h := range hostile {
		want := shape(t, postmortem.Render(hostileView("x")))
		md := postmortem.Render(hostileView(h))
		if got := shape(t, md); !slices.Equal(got, want) {
			t.Errorf("value %q changes the draft's structure:\n%s\ndraft:\n%s", h, diff(got, want), md)
		}
		if strings.ContainsAny(md, "\u202e\u200b\x00\x1b") {
			t.Errorf("value %q leaves a control or invisible character in the draft", h)
		}
	}
}

// hostileView is the golden view with h in every place a value of alert
// content, a deploy record or a responder goes.
func hostileView(h string) postmortem.View {
	v := resolvedView()
	inc := *v.Incident
	inc.Title, inc.Service, inc.Env, inc.Rule, inc.Commander, inc.SlackChannel, inc.JiraKey = h, h, h, h, h, h, h
	inc.Severity = incident.Severity(h)
	inc.Unit = incident.CountOf(h)
	ev := *inc.Evidence
	sus, tgt := *ev.Suspect, *ev.Target
	sus.Author, sus.Service, sus.Env, sus.SHA, tgt.Author, tgt.SHA = h, h, h, h, h, h
	ev.Suspect, ev.Target = &sus, &tgt
	ev.Rollback, ev.Problems, ev.NoDeploys = h, []string{h}, h
	ev.Dashboards = []incident.EvidenceLink{{Title: h, URL: "https://grafana.example.com/d/x"}}
	ev.Traces = []incident.Trace{{Operation: h, ErrorSpan: h, Error: h, URL: "https://jaeger.example.com/t/1"}}
	inc.Evidence = &ev
	v.Incident = &inc
	var tl []incident.Event
	for _, e := range v.Timeline {
		e.Actor, e.Text = h, h
		tl = append(tl, e)
	}
	v.Timeline = append(tl, incident.Event{ID: 99, At: opened, Kind: incident.EventKind(h), Actor: h, Text: h},
		incident.Event{ID: 100, At: opened, Kind: incident.EventFollowup, Actor: h, Text: h},
		incident.Event{ID: 101, At: opened, Kind: incident.EventFollowupFiled, Actor: h, Text: incident.FollowupFiledText(h, h)})
	return v
}

// markdown parses as GitHub does: CommonMark with tables, task lists,
// strikethrough and bare URLs linked (goldmark's GFM).
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// shape is the draft's parsed structure: every node but text, by kind,
// with a heading's level and a link's or image's destination.
func shape(t *testing.T, md string) []string {
	t.Helper()
	src := []byte(md)
	var out []string
	err := ast.Walk(markdown.Parser().Parse(text.NewReader(src)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text, *ast.String, *ast.Document:
		case *ast.Heading:
			out = append(out, fmt.Sprintf("Heading%d", n.Level))
		case *ast.Link:
			out = append(out, "Link "+string(n.Destination))
		case *ast.Image:
			out = append(out, "Image "+string(n.Destination))
		case *ast.AutoLink:
			out = append(out, "AutoLink "+string(n.URL(src)))
		default:
			out = append(out, n.Kind().String())
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff shows where two shapes part.
func diff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("node %d is %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("%d nodes, want %d", len(got), len(want))
}

// Text escapes what Markdown would read, and nothing a reader needs.
func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"payment-gateway 3.11%", "payment-gateway 3.11%"},
		{"a *b* _c_ `d`", `a \*b\* \_c\_ \` + "`d\\`"},
		{"[x](y) ![i](j)", `\[x\](y) \!\[i\](j)`},
		{"<b>&amp;", `\<b\>\&amp;`},
		{"# h\n\n- item", `\# h - item`},
		{"- a", `\- a`},
		{"12. x and 3. y", `12\. x and 3. y`},
		{"1.5%", `1.5%`},
		{"-5% +3", `-5% +3`},
		{"## h", `\## h`},
		{"#hash", `#hash`},
		{"3)", `3\)`},
		{"C# 2) x", `C# 2) x`},
		{"see https://x.example/a or www.example.com", `see https\://x.example/a or www\.example.com`},
		{"awww.x", "awww.x"},
		{"a | b", `a \| b`},
		{"u@example.com $5", `u\@example.com \$5`},
		{"back\\slash", `back\\slash`},
		{"\u202eevil\u200b\x00", "evil"},
		{"  spaced \t out  ", "spaced out"},
	} {
		if got := postmortem.Text(tc.in, 0); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := postmortem.Text(strings.Repeat("ab ", 100), 10); got != "ab ab ab a…" {
		t.Errorf("cut: %q", got)
	}
}

// Code's fence outlasts any run of backticks in it.
func TestCode(t *testing.T) {
	t.Parallel()
	got := postmortem.Code("a ```` b\n```\nc")
	if !strings.HasPrefix(got, "`````\n") || !strings.HasSuffix(got, "\n`````") {
		t.Errorf("Code = %q", got)
	}
}

// Link links only absolute http(s) URLs, encoded so that they cannot end
// the link early.
func TestLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{"https://ci.example.com/runs/7", "[t](https://ci.example.com/runs/7)"},
		{"https://ci.example.com/a b)<x>[y]", "[t](https://ci.example.com/a%20b%29%3Cx%3E%5By%5D)"},
		{"javascript:alert(1)", "t"},
		{"/relative", "t"},
		{"", "t"},
	} {
		if got := postmortem.Link("t", tc.raw); got != tc.want {
			t.Errorf("Link(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	if got := postmortem.FileName("INC-7", 42); got != "INC-7-postmortem-42.md" {
		t.Errorf("FileName = %q", got)
	}
}

// A storm's thousands of events with long texts: the draft lists what
// fits and counts the rest, and stays under MaxBytes (Jira's attachment,
// the fake's body limit).
func TestPostmortemBounded(t *testing.T) {
	t.Parallel()
	v := resolvedView()
	long := strings.Repeat("界<", 2000) // four bytes escaped, each
	v.Timeline = nil
	for i := range 5000 {
		v.Timeline = append(v.Timeline, incident.Event{ID: int64(i + 1), At: opened, Kind: incident.EventNote, Actor: long, Text: long})
	}
	md := postmortem.Render(v)
	if len(md) > postmortem.MaxBytes {
		t.Errorf("draft of %d bytes, over %d", len(md), postmortem.MaxBytes)
	}
	if !strings.Contains(md, " more events: `warroom incidents show INC-1` lists them all.") || !strings.HasSuffix(md, "_To be written._\n") {
		t.Errorf("the draft does not count the events left out, or lost its end:\n%s", md[len(md)-600:])
	}
}
