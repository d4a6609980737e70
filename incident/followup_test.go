package incident_test

import (
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

// A filed event goes to the earliest request of its text not yet filed;
// one with a text nobody asked for, or not of the filed form, is no
// follow-up.
func TestFollowupsFromTheTimeline(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	ev := func(kind incident.EventKind, actor, text string) incident.Event {
		at = at.Add(time.Minute)
		return incident.Event{At: at, Kind: kind, Actor: actor, Text: text}
	}
	tl := []incident.Event{
		ev(incident.EventFollowup, "U1", "add a canary"),
		ev(incident.EventNote, "U1", "follow-up OPS-9 filed: add a canary"),
		ev(incident.EventFollowup, "U2", "add a canary"),
		ev(incident.EventFollowup, "U2", "alert on the pool"),
		ev(incident.EventFollowupFiled, "warroom", incident.FollowupFiledText("OPS-12", "add a canary")),
		ev(incident.EventFollowupFiled, "warroom", incident.FollowupFiledText("OPS-13", "add a canary")),
		ev(incident.EventFollowupFiled, "warroom", incident.FollowupFiledText("OPS-14", "nobody asked")),
		ev(incident.EventFollowupFiled, "warroom", "OPS-15 without the form"),
	}
	got := incident.Followups(tl)
	want := []incident.Followup{
		{At: tl[0].At, Actor: "U1", Text: "add a canary", Key: "OPS-12"},
		{At: tl[2].At, Actor: "U2", Text: "add a canary", Key: "OPS-13"},
		{At: tl[3].At, Actor: "U2", Text: "alert on the pool"},
	}
	if len(got) != len(want) {
		t.Fatalf("followups %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("followup %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
