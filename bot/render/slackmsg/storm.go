package slackmsg

import (
	"fmt"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// How a storm's room lists its incidents: one line each, at most
// stormLineMax characters, in at most maxStormSections sections (Block Kit
// allows 50 blocks and 3000 characters a section): about a hundred lines,
// the rest counted.
const (
	stormLineMax     = 200
	maxStormSections = 8
	blockStorm       = "summary_storm"
	blockLinked      = "summary_linked"
	stormNameMax     = 60
	stormLinkedMax   = 20
)

// stormBlocks renders a storm's summary: the storm, the incidents that
// joined it (each with its value and suspect deploy), the war rooms
// opened just before it, its links and its buttons.
func stormBlocks(v SummaryView) []slack.Block {
	inc := v.Incident
	total, open := render.StormCounts(inc, v.Children)
	declared := inc.OpenedAt.UTC().Format(render.TimeLayout)
	if !v.Now.IsZero() {
		declared += "\n" + render.HumanDuration(v.Now.Sub(inc.OpenedAt)) + " ago"
	}
	fields := []string{
		"*Storm*\n:thunder_cloud_and_rain: many services breaching at once",
		"*Severity*\n" + severityEmoji(inc.Severity) + " " + EscapeCut(string(inc.Severity), nameInline),
		"*State*\n" + stateEmoji(inc.State) + " " + EscapeCut(string(inc.State), nameInline),
		"*Declared*\n" + declared,
		fmt.Sprintf("*Incidents*\n%d breaching of %d joined", open, total),
		fmt.Sprintf("*War rooms before it*\n%d", len(inc.Linked)),
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(headerText(inc)), slack.HeaderBlockOptionBlockID(blockHeader)),
		slack.NewSectionBlock(nil, fieldTexts(append(fields, roleFields(inc)...)), nil, slack.SectionBlockOptionBlockID(blockFacts)),
	}
	blocks = append(blocks, stormSections(inc, v.Children, total-len(v.Children))...)
	if t := linkedText(inc, v.Linked); t != "" {
		blocks = append(blocks, section(blockLinked, t))
	}
	if t := linksText(v); t != "" {
		blocks = append(blocks, section(blockLinks, t))
	}
	if inc.LastError != "" {
		blocks = append(blocks, section(blockLastError, ":warning: *Last error*\n"+EscapeCut(inc.LastError, lastErrorMax)))
	}
	if inc.State == incident.Resolved {
		end := v.Now
		if inc.ResolvedAt != nil {
			end = *inc.ResolvedAt
		}
		blocks = append(blocks, slack.NewContextBlock(blockResolved, mrkdwnText(
			fmt.Sprintf(":white_check_mark: Storm over after %s: %d incidents", render.HumanDuration(end.Sub(inc.OpenedAt)), total))))
	} else {
		blocks = append(blocks, actionsBlock(inc))
	}
	return append(blocks, slack.NewContextBlock(blockUpdated, mrkdwnText("Updated "+v.Now.UTC().Format(render.TimeLayout)+" · warroom")))
}

// stormSections lists the storm's incidents, breaching first, a line
// each, over as many sections as they need up to maxStormSections; the
// last counts those left out (unlisted: those the view was not given)
// and says where to see them all.
func stormSections(storm *incident.Incident, children []*incident.Incident, unlisted int) []slack.Block {
	if len(children) == 0 && unlisted == 0 {
		return []slack.Block{section(blockStorm, "*Incidents in the storm*\nNone yet.")}
	}
	var lines []string
	for _, c := range render.StormOrder(children) {
		lines = append(lines, stormLine(c))
	}
	var texts []string
	cur := "*Incidents in the storm*"
	for len(lines) > 0 {
		last := len(texts) == maxStormSections-1
		reserve := 0 // room for the count of those left out
		if last && len(lines) > 1 || len(lines) == 1 && unlisted > 0 {
			reserve = 80
		}
		if render.TextLen(cur)+1+render.TextLen(lines[0])+reserve > maxSectionText {
			if last {
				break
			}
			texts, cur = append(texts, cur), ""
			continue
		}
		if cur != "" {
			cur += "\n"
		}
		cur, lines = cur+lines[0], lines[1:]
	}
	if left := len(lines) + unlisted; left > 0 {
		cur += fmt.Sprintf("\n…and %d more: `warroom incidents list --storm %s`", left, Escape(storm.ID))
	}
	texts = append(texts, cur)
	blocks := make([]slack.Block, len(texts))
	for i, t := range texts {
		blocks[i] = section(fmt.Sprintf("%s_%d", blockStorm, i), t)
	}
	return blocks
}

// stormLine renders "• :red_circle: *INC-12* payment-gateway · prod —
// error rate 3.11% vs 0.8% — suspect `a1b2c3d`".
func stormLine(c *incident.Incident) string {
	status := ":red_circle:"
	if !c.State.Open() {
		status = ":large_green_circle:"
	}
	where := inline(c.Service)
	if where == "" {
		where = "unknown"
	}
	where = EscapeCut(where, stormNameMax)
	if env := inline(c.Env); env != "" {
		where += " · " + EscapeCut(env, stormNameMax/2)
	}
	line := "• " + status + " *" + Escape(c.ID) + "* " + where + " — " + Escape(render.StormValue(c))
	if s := render.StormSuspect(c); s != "" {
		line += " — suspect `" + EscapeCut(inline(s), 40) + "`"
	}
	return cutEscaped(line, stormLineMax)
}

// linkedText lists the war rooms opened just before the storm, which
// keep their own rooms: a channel link each once the channel exists.
func linkedText(storm *incident.Incident, linked []*incident.Incident) string {
	if len(storm.Linked) == 0 {
		return ""
	}
	byID := map[string]*incident.Incident{}
	for _, l := range linked {
		byID[l.ID] = l
	}
	var lines []string
	for _, id := range storm.Linked {
		inc, ok := byID[id]
		if !ok {
			lines = append(lines, "• "+EscapeCut(id, nameInline))
			continue
		}
		room := ""
		switch {
		case slackChannelID.MatchString(inc.SlackChannelID):
			room = " <#" + inc.SlackChannelID + ">"
		case inc.SlackChannel != "":
			room = " #" + EscapeCut(inline(inc.SlackChannel), nameInline)
		}
		lines = append(lines, "• "+stateEmoji(inc.State)+" *"+Escape(inc.ID)+"* "+EscapeCut(inline(inc.Service), stormNameMax)+room)
	}
	return render.ListText("*War rooms opened just before the storm*", lines[:min(len(lines), stormLinkedMax)],
		max(len(lines)-stormLinkedMax, 0), "war rooms", maxSectionText)
}
