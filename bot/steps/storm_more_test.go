package steps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/storetest"
	"github.com/warroom/warroom/rules"
)

type everyWarRoom struct{}

func (everyWarRoom) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i, a := range alerts {
		out[i] = incident.Decision{Action: incident.ActionWarRoom, Rule: "r", Key: "r/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: "prod", Severity: incident.Critical}
	}
	return out
}

// Past steps.StormListed (1000) children, the storm's room reads the
// newest 1000 and counts them as all: "N breaching of 1000 joined" for a
// storm of more, and the oldest children, breaching or not, are neither
// listed nor counted among those left out.
func TestStormRoomCountsEveryChild(t *testing.T) {
	t.Parallel()
	b := storetest.Backends[0] // SQLite: the count is the store-independent part
	s := b.Open(t, b.DSN(t))
	now := time.Now().UTC()
	svc := incident.NewService(s, everyWarRoom{}, incident.Options{Now: func() time.Time { return now },
		Storm: incident.Storm{Threshold: 3, Window: 5 * time.Minute}, MaxNewWarRoomsPerDelivery: -1, MaxNewWarRoomsPerMinute: -1})
	const n = 1100
	d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: "firing", ReceivedAt: now}
	for i := range n {
		name := fmt.Sprintf("svc%04d", i)
		d.Alerts = append(d.Alerts, incident.Alert{Fingerprint: "fp-" + name, Status: incident.AlertFiring, Source: incident.SourceAlertmanager,
			Labels: map[string]string{"alertname": "HighErrorRate", "service": name}, StartsAt: now})
	}
	if _, err := svc.Ingest(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	storm, err := s.Incident(context.Background(), "INC-4")
	if err != nil || !storm.IsStorm() || len(storm.Children) != n-3 {
		t.Fatalf("INC-4: %v children, %v; want the storm of %d", len(storm.Children), err, n-3)
	}
	set, err := rules.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := steps.Deps{Store: s, Service: svc, Rules: set, Now: func() time.Time { return now }}
	f, err := deps.Facts(context.Background(), storm, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(slackmsg.SummaryBlocks(deps.SlackView(storm, f)))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d breaching of %d joined", n-3, n-3); !strings.Contains(string(raw), want) {
		got := regexp.MustCompile(`[0-9]+ breaching of [0-9]+ joined`).FindString(string(raw))
		t.Errorf("the storm's room says %q, want %q", got, want)
	}
}
