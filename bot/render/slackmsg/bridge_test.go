package slackmsg_test

import (
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
)

// The meeting bridge is a line of the summary's links,
// ":telephone_receiver: Bridge: <url|Join the bridge>"; withheld by the
// host allow-list, the line says why, with no link.
func TestSummaryBridgeLine(t *testing.T) {
	t.Parallel()
	text := func(l render.Link) string {
		t.Helper()
		v := slackmsg.SummaryView{Incident: baseIncident(), Links: []render.Link{l}, Now: blocksNow}
		blocks := slackmsg.SummaryBlocks(v)
		if err := slackmsg.ValidateBlocks(blocks); err != nil {
			t.Fatalf("invalid blocks: %v", err)
		}
		var b strings.Builder
		for _, o := range textObjects(t, blocks) {
			b.WriteString(o["text"].(string) + "\n")
		}
		return b.String()
	}
	bridge := render.Link{Kind: render.KindBridge, Title: render.BridgeTitle, URL: "https://example.zoom.us/j/5550100?pwd=a|b"}
	if got, want := text(bridge), ":telephone_receiver: Bridge: <https://example.zoom.us/j/5550100?pwd=a%7Cb|Join the bridge>"; !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
	hosts := render.NewHosts([]string{"*.zoom.us"})
	for raw, why := range map[string]string{
		"https://evil.example/<!channel>": "not linked: host evil.example is not in links.allowed_hosts",
		"zoommtg://zoom.us/join?confno=1": "not linked: not an http(s) URL",
	} {
		withheld := hosts.Links([]render.Link{{Kind: render.KindBridge, Title: render.BridgeTitle, URL: raw}})[0]
		got := text(withheld)
		if want := ":telephone_receiver: Bridge _(" + why + ")_"; !strings.Contains(got, want) {
			t.Errorf("%s: no %q in\n%s", raw, want, got)
		}
		if strings.Contains(got, "Join the bridge") || strings.Contains(got, "zoommtg") || strings.Contains(got, "<!channel>") {
			t.Errorf("%s: withheld, yet in the summary:\n%s", raw, got)
		}
	}
}
