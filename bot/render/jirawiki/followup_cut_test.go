package jirawiki_test

import (
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
)

// A follow-up of at most MaxFollowupText characters, as the README
// promises it may be, is the whole summary of its issue when that fits
// Jira's 255 characters: the cut counts characters, not UTF-8 bytes.
func TestFollowupSummaryKeepsNonASCIIText(t *testing.T) {
	t.Parallel()
	inc := jiraIncident()
	for _, text := range []string{
		strings.Repeat("é", incident.MaxFollowupText),                // 400 bytes
		strings.Repeat("接続プールの監視を追加する", incident.MaxFollowupText/13), // 585 bytes
	} {
		want := "[INC-7] Follow-up: " + text
		if got := jirawiki.FollowupSummary(inc, text); got != want {
			t.Errorf("summary cut to %d of %d characters: %q", len([]rune(got)), len([]rune(want)), got)
		}
	}
}
