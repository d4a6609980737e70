package jirawiki_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
)

// stormTicket is the view of a storm's ticket: n children named by name,
// every third with a suspect deploy, every fifth resolved, and two
// linked war rooms.
func stormTicket(n int, name func(i int) string) jirawiki.View {
	storm := jiraIncident()
	storm.ID, storm.Kind, storm.Service, storm.Env, storm.Rule = "INC-40", incident.KindStorm, "storm", "", "storm"
	storm.Title, storm.Value, storm.Threshold = "Storm: 5 war rooms within 5m, and more breaching", nil, nil
	storm.Linked = []string{"INC-30", "INC-31"}
	v := jirawiki.View{Incident: storm, Now: jiraNow}
	for i, id := range storm.Linked {
		l := jiraIncident()
		l.ID, l.Service = id, fmt.Sprintf("linked-%d", i)
		v.Linked = append(v.Linked, l)
	}
	for i := range n {
		c := jiraIncident()
		c.ID, c.Seq, c.Service, c.Storm, c.WarRoom = fmt.Sprintf("INC-%d", 41+i), int64(41+i), name(i), "INC-40", false
		c.Value = jiraNum(0.01 + float64(i)/1000)
		if i%3 == 0 {
			c.SuspectDeploy = fmt.Sprintf("%07xabcdef0123456789abcdef0123456789", i)
		}
		if i%5 == 4 {
			c.State = incident.Resolved
		}
		v.Children = append(v.Children, c)
	}
	return v
}

// cellPipe splits a table row into its cells.
var cellPipe = regexp.MustCompile(`(^|[^\\])\|`)

// The storm's ticket has a row for every incident that joined it, with
// its value, suspect deploy and state, and lists the war rooms opened
// just before it; no single rollback.
func TestJiraStormDescription(t *testing.T) {
	v := stormTicket(35, func(i int) string { return fmt.Sprintf("service-%02d", i) })
	d := jirawiki.Description(v)
	for i, c := range v.Children {
		state, suspect := "breaching", "none known"
		if c.State == incident.Resolved {
			state = "resolved"
		}
		if c.SuspectDeploy != "" {
			suspect = c.SuspectDeploy[:7]
		}
		esc := jirawiki.Escape
		row := fmt.Sprintf("| %s | %s | prod | %s | %s | %s |", c.ID, esc(fmt.Sprintf("service-%02d", i)),
			esc("error rate "+c.Unit.Format(*c.Value)+" vs 0.8%"), suspect, state)
		if !strings.Contains(d, row) {
			t.Errorf("no row %q in:\n%s", row, d)
			break
		}
	}
	for _, want := range []string{"h2. Storm", "28 breaching of 35 joined", `* INC\-30 linked\-0`, `* INC\-31 linked\-1`} {
		if !strings.Contains(d, want) {
			t.Errorf("description lacks %q", want)
		}
	}
	if strings.Contains(d, "Rollback suggestion") {
		t.Error("a storm's ticket suggests a rollback")
	}
	if s := jirawiki.Summary(v.Incident); s != "[INC-40] Storm: 5 war rooms within 5m, and more breaching" {
		t.Errorf("summary %q", s)
	}
}

// Hundreds of incidents named to break the table or its markup: every
// row keeps its six cells, every name is inert, the description stays
// within Jira's limit, and those left out are counted.
func TestJiraStormDescriptionBoundedAndEscaped(t *testing.T) {
	hostile := func(i int) string {
		return fmt.Sprintf("a|b [click|https://evil.example] {noformat} *bold* h1. %s %d\nbq. x", strings.Repeat("y", 150), i)
	}
	v := stormTicket(400, hostile)
	d := jirawiki.Description(v)
	if n := len([]rune(d)); n > 32000 {
		t.Fatalf("description is %d characters, over Jira's 32767 bound with margin", n)
	}
	rows := 0
	for _, line := range strings.Split(d, "\n") {
		if !strings.HasPrefix(line, "| INC-") {
			continue
		}
		rows++
		cells := cellPipe.Split(line, -1)
		if len(cells) != 8 {
			t.Fatalf("row splits into %d cells, want 6: %q", len(cells)-2, line)
		}
		checkWikiInert(t, hostile(0), strings.TrimSpace(cells[2])+"")
	}
	m := regexp.MustCompile(`…and ([0-9]+) more incidents \(warroom incidents list --storm INC-40\)`).FindStringSubmatch(d)
	if m == nil || rows == 0 || fmt.Sprint(400-rows) != m[1] {
		t.Errorf("%d rows shown and %v counted, want 400 in all", rows, m)
	}
}
