package jirawiki_test

import (
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/jirawiki"
)

// The meeting bridge is a link of the ticket's description; withheld by
// the host allow-list, its line says why, with no link.
func TestDescriptionBridge(t *testing.T) {
	t.Parallel()
	hosts := render.NewHosts([]string{"meet.google.com"})
	links := hosts.Links([]render.Link{
		{Kind: render.KindBridge, Title: render.BridgeTitle, URL: "https://meet.google.com/abc-defg-hij"},
		{Kind: render.KindBridge, Title: render.BridgeTitle, URL: "https://evil.example/j/1"},
	})
	d := jirawiki.Description(jirawiki.View{Incident: jiraIncident(), Links: links, Now: jiraNow})
	for _, want := range []string{
		"* Bridge: [Join the bridge|https://meet.google.com/abc-defg-hij]",
		"* Bridge: Join the bridge (not linked: host evil.example is not in links.allowed\\_hosts)",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("no %q in\n%s", want, d)
		}
	}
	if strings.Contains(d, "evil.example/j/1") {
		t.Errorf("the withheld URL is in the ticket:\n%s", d)
	}
}
