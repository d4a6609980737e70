package jirawiki

import (
	"fmt"
	"strings"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// How much of a storm the ticket lists: a row per incident within
// wikiStormMax characters (about 150 rows), the rest counted.
const (
	wikiStormMax      = 18000
	wikiStormCellMax  = 100
	wikiStormLinkedMx = 2000
)

// stormDescription renders a storm's ticket: the storm, a table of the
// incidents that joined it with their values and suspect deploys, the
// war rooms opened just before it, and the links. A storm has no one
// rollback: each incident's suspect deploy is in its row.
func stormDescription(v View) string {
	inc := v.Incident
	total, open := render.StormCounts(inc, v.Children)
	var b strings.Builder
	b.WriteString("h2. Storm\n")
	b.WriteString("*" + wikiInline(inc.Title, wikiTitleMax) + "*\n")
	b.WriteString("Many services breached at once: look for what they share (a database, a network, a provider) before any one service.\n\n")
	facts := []string{
		"*Declared:* " + inc.OpenedAt.UTC().Format(jiraTimeLayout),
		"*State:* " + wikiInline(string(inc.State), wikiNameMax),
		fmt.Sprintf("*Incidents:* %d breaching of %d joined", open, total),
	}
	b.WriteString("* " + strings.Join(facts, "\n* "))
	b.WriteString("\n\nh2. Incidents in the storm\n")
	var rows []string
	for _, c := range render.StormOrder(v.Children) {
		rows = append(rows, stormRow(c))
	}
	if len(rows) == 0 && total == 0 {
		b.WriteString("None yet.")
	} else {
		more := fmt.Sprintf("incidents (warroom incidents list --storm %s)", inc.ID)
		b.WriteString(render.ListText("||incident||service||env||value||suspect deploy||state||", rows, total-len(rows), more, wikiStormMax))
	}
	if len(inc.Linked) > 0 {
		b.WriteString("\n\nh2. War rooms opened just before the storm\n")
		b.WriteString(linkedWiki(inc.Linked, v.Linked))
	}
	b.WriteString("\n\nh2. Links\n")
	b.WriteString(jiraLinkList(v.Links))
	if !v.Now.IsZero() {
		b.WriteString("\n\n----\n_Updated " + v.Now.UTC().Format(jiraTimeLayout) + " by warroom._")
	}
	return boundWiki(b.String(), jiraTextMax)
}

// stormRow is one incident's row; cells are padded so that an empty one
// never makes "||".
func stormRow(c *incident.Incident) string {
	state := "breaching"
	if !c.State.Open() {
		state = "resolved"
	}
	suspect := render.StormSuspect(c)
	if suspect == "" {
		suspect = "none known"
	}
	cells := []string{c.ID, wikiInline(c.Service, wikiStormCellMax), wikiInline(c.Env, wikiStormCellMax),
		wikiInline(render.StormValue(c), wikiStormCellMax), wikiInline(suspect, wikiStormCellMax), state}
	return "| " + strings.Join(cells, " | ") + " |"
}

// linkedWiki lists the linked war rooms as "* INC-1 payment-gateway".
func linkedWiki(ids []string, linked []*incident.Incident) string {
	svc := map[string]string{}
	for _, l := range linked {
		svc[l.ID] = l.Service
	}
	lines := make([]string, 0, len(ids))
	for _, id := range ids {
		lines = append(lines, "* "+wikiInline(id+" "+svc[id], wikiNameMax))
	}
	return render.ListText("", lines, 0, "war rooms", wikiStormLinkedMx)[1:]
}
