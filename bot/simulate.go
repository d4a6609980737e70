package bot

import (
	"log/slog"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
	"github.com/warroom/warroom/rules"
)

// SimulatedAlert is what `warroom simulate` reports for one alert.
type SimulatedAlert struct {
	Fingerprint string          `json:"fingerprint"`
	Alertname   string          `json:"alertname"`
	Status      string          `json:"status"`
	Decision    incident.Action `json:"decision"`
	Rule        string          `json:"rule"`
	Reason      string          `json:"reason"`
	Key         string          `json:"key"`
	Value       *float64        `json:"value"`
	Calls       []SimulatedCall `json:"calls"`
	// Problems are the steps whose plan failed (blocks Slack would
	// refuse, say), as the step would fail.
	Problems []string `json:"problems,omitempty"`
}

// SimulatedCall is one call of the plan of a step a war room opens with.
type SimulatedCall struct {
	Step incident.JobKind `json:"step"`
	steps.Call
}

// Simulate decides on a payload without touching a store, Slack or Jira,
// and lists the calls that opening a war room would make: the plans of
// the opening steps, made by the planner the executors and the dry run
// use, without lookups (steps.Planner.Plan). Each alert is shown as if it
// opened its own incident, INC-?; the real run attaches alerts of one key
// to one incident.
func Simulate(cfg *config.Config, set *rules.Set, msg *payload.Message, source incident.Source, now time.Time) []SimulatedAlert {
	p := planner(cfg, set, slog.New(slog.DiscardHandler), func() time.Time { return now })
	d := httpapi.Delivery(msg, source, now)
	decisions := set.Evaluate(d.Alerts)
	out := make([]SimulatedAlert, len(d.Alerts))
	for i, a := range d.Alerts {
		dec := decisions[i]
		a.Value = dec.Value
		sa := SimulatedAlert{Fingerprint: a.Fingerprint, Alertname: a.Labels["alertname"], Status: string(a.Status),
			Decision: dec.Action, Rule: dec.Rule, Reason: dec.Reason, Key: dec.Key, Value: dec.Value, Calls: []SimulatedCall{}}
		if dec.Action == incident.ActionWarRoom && a.Status == incident.AlertFiring {
			inc := &incident.Incident{ID: "INC-?", Key: dec.Key, Service: dec.Service, Env: dec.Env, Rule: dec.Rule,
				Severity: dec.Severity, State: incident.Triggered, WarRoom: true, Title: a.Annotations["summary"],
				Value: dec.Value, PeakValue: dec.Value, Threshold: dec.Threshold, Unit: dec.Unit, OpenedAt: now}
			if inc.Title == "" {
				inc.Title = a.Labels["alertname"]
			}
			inc.SlackChannel = slackmsg.ChannelName(cfg.Slack.ChannelPrefix, now, dec.Service, 1)
			f := steps.Facts{Alerts: []incident.Alert{a}, Total: 1, Firing: 1}
			kinds := incident.OpeningSteps()
			if dec.Page {
				kinds = append(kinds, incident.JobPageTrigger)
			}
			for _, k := range kinds {
				calls, err := p.Plan(incident.NewJob(k, inc.ID, incident.JobArgs{}, now), inc, f, steps.Known{})
				if err != nil {
					sa.Problems = append(sa.Problems, string(k)+": "+err.Error())
				}
				for _, c := range calls {
					sa.Calls = append(sa.Calls, SimulatedCall{Step: k, Call: c})
				}
			}
		}
		out[i] = sa
	}
	return out
}
