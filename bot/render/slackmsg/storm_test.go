package slackmsg_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// stormView is a storm's room: children of many services (every fifth
// resolved, every third with a suspect deploy) and the war rooms it links.
func stormView(children int, service func(i int) string) slackmsg.SummaryView {
	storm := baseIncident()
	storm.ID, storm.Seq, storm.Kind, storm.Key, storm.Service, storm.Env, storm.Rule = "INC-40", 40, incident.KindStorm, "storm/INC-40", "storm", "", "storm"
	storm.Title = "Storm: 5 war rooms within 5m, and more breaching"
	storm.Value, storm.Threshold, storm.Unit = nil, nil, ""
	storm.SlackChannel, storm.SlackChannelID = "inc-20250304-storm-1", "C0STORM001"
	v := slackmsg.SummaryView{Incident: storm, Now: blocksNow}
	for i := range 5 {
		l := baseIncident()
		l.ID, l.Seq, l.Service = fmt.Sprintf("INC-%d", 30+i), int64(30+i), service(100+i)
		l.SlackChannelID, l.SlackChannel = fmt.Sprintf("C0LINKED0%d", i), "inc-20250304-"+l.Service+"-1"
		storm.Linked = append(storm.Linked, l.ID)
		v.Linked = append(v.Linked, l)
	}
	storm.Linked = append(storm.Linked, "INC-29") // gone from the store: listed by its ID
	for i := range children {
		c := baseIncident()
		c.ID, c.Seq, c.Service, c.WarRoom, c.Storm = fmt.Sprintf("INC-%d", 41+i), int64(41+i), service(i), false, "INC-40"
		c.SlackChannel, c.SlackChannelID = "", ""
		c.Value = num(0.01 + float64(i)/1000)
		if i%3 == 0 {
			c.SuspectDeploy = fmt.Sprintf("%07x0123456789abcdef0123456789abcdef0", i)
		}
		if i%5 == 4 {
			c.State = incident.Resolved
		}
		storm.Children = append(storm.Children, c.ID)
		if c.State.Open() {
			storm.ChildrenOpen++
		}
		v.Children = append(v.Children, c)
	}
	return v
}

// A 40-service storm's room lists every incident that joined it, each
// with its value and suspect deploy, breaching first, and links the war
// rooms opened just before it; the storm has no rollback and no silence.
func TestStormSummaryListsEveryIncident(t *testing.T) {
	v := stormView(35, func(i int) string { return fmt.Sprintf("service-%02d", i) })
	blocks := slackmsg.SummaryBlocks(v)
	if err := slackmsg.ValidateBlocks(blocks); err != nil {
		t.Fatalf("ValidateBlocks: %v", err)
	}
	var all strings.Builder
	for _, obj := range textObjects(t, blocks) {
		text, _ := obj["text"].(string)
		all.WriteString(text + "\n")
	}
	text := all.String()
	for i, c := range v.Children {
		line := regexp.MustCompile(`(?m)^• :(red|large_green)_circle: \*` + c.ID + `\* service-` + fmt.Sprintf("%02d", i) + ` · prod — error rate ([0-9.]+)% vs 0\.8%(.*)$`).FindStringSubmatch(text)
		if line == nil {
			t.Errorf("%s (%s) is not listed with its value", c.ID, c.Service)
			continue
		}
		if got, _ := strconv.ParseFloat(line[2], 64); math.Abs(got-*c.Value*100) > 0.01 {
			t.Errorf("%s shows %s%%, want %.2f%%", c.ID, line[2], *c.Value*100)
		}
		if (c.SuspectDeploy != "") != strings.Contains(line[3], "suspect `"+c.SuspectDeploy[:min(7, len(c.SuspectDeploy))]+"`") {
			t.Errorf("%s: suspect %q, line %q", c.ID, c.SuspectDeploy, line[0])
		}
		if resolved := line[1] == "large_green"; resolved != (c.State == incident.Resolved) {
			t.Errorf("%s is %s but shows %s", c.ID, c.State, line[1])
		}
	}
	if first, last := strings.Index(text, "*INC-41*"), strings.Index(text, "*INC-45*"); first < 0 || last < first || strings.Index(text, "*INC-42*") > last {
		t.Error("the breaching incidents are not listed before the resolved ones")
	}
	if !strings.Contains(text, "28 breaching of 35 joined") {
		t.Errorf("the facts do not count the incidents: %s", text)
	}
	for i := range 5 {
		if !strings.Contains(text, fmt.Sprintf("*INC-%d* service-%d <#C0LINKED0%d>", 30+i, 100+i, i)) {
			t.Errorf("linked war room INC-%d is not linked to its channel", 30+i)
		}
	}
	if !strings.Contains(text, "• INC-29") {
		t.Error("a linked war room gone from the store is not listed by its ID")
	}
	for _, id := range actionIDs(t, blocks) {
		if id == slackmsg.ActionRollback || id == slackmsg.ActionSilence {
			t.Errorf("the storm offers %s: it has no deploy to roll back, no alerts to silence", id)
		}
	}
}

// A storm of hundreds, of services named to attack the renderer: the
// room still passes Block Kit's limits, escapes every name, and counts
// the incidents it had no room for, saying where to see them all.
func TestStormSummaryBoundedAndEscaped(t *testing.T) {
	v := stormView(400, func(i int) string { return fmt.Sprintf("<!channel> %s &amp; <@U123> %d", strings.Repeat("x", 300), i) })
	blocks := slackmsg.SummaryBlocks(v)
	if err := slackmsg.ValidateBlocks(blocks); err != nil {
		t.Fatalf("ValidateBlocks: %v", err)
	}
	listed, more := 0, 0
	for i, obj := range textObjects(t, blocks) {
		text, _ := obj["text"].(string)
		// The linked war rooms' channels are the one control sequence ours.
		checkMrkdwn(t, fmt.Sprintf("text %d", i), regexp.MustCompile(`<#C0LINKED0[0-4]>`).ReplaceAllString(text, ""), nil, nil)
		listed += len(regexp.MustCompile(`(?m)^• :(red|large_green)_circle: \*INC-`).FindAllString(text, -1))
		if m := regexp.MustCompile("…and ([0-9]+) more: `warroom incidents list --storm INC-40`").FindStringSubmatch(text); m != nil {
			more, _ = strconv.Atoi(m[1])
		}
	}
	if more == 0 || listed+more != 400 {
		t.Errorf("%d listed and %d counted, want 400 in all", listed, more)
	}
}

func actionIDs(t *testing.T, blocks []slack.Block) []string {
	t.Helper()
	raw := string(renderJSON(t, blocks))
	var out []string
	for _, m := range regexp.MustCompile(`"action_id": "([a-z_0-9]+)"`).FindAllStringSubmatch(raw, -1) {
		out = append(out, m[1])
	}
	return out
}
