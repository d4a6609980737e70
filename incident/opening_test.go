package incident

import (
	"slices"
	"testing"
)

// The steps a war room opens with are the opening steps and those that
// follow them, in the order of the step table; the updates, the archive,
// the comments and the actions of responders are not among them.
func TestOpeningSteps(t *testing.T) {
	t.Parallel()
	want := []JobKind{JobSlackCreateChannel, JobJiraCreateIssue, JobCorrelateGather, JobSlackSetTopic, JobSlackInvite,
		JobSlackPostSummary, JobSlackAnnounce, JobSlackPinSummary, JobSlackBookmarks}
	if got := OpeningSteps(); !slices.Equal(got, want) {
		t.Errorf("OpeningSteps() = %v, want %v", got, want)
	}
}
