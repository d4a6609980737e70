package bot

import (
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps/dryrun"
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
	Calls       []dryrun.Call   `json:"calls"`
}

// Simulate decides on a payload without touching a store, Slack or Jira,
// and lists the calls that opening a war room would make. Each alert is
// shown as if it opened its own incident; the real run attaches alerts of
// one key to one incident.
func Simulate(cfg *config.Config, set *rules.Set, msg *payload.Message, source incident.Source, now time.Time) []SimulatedAlert {
	d := httpapi.Delivery(msg, source, now)
	decisions := set.Evaluate(d.Alerts)
	out := make([]SimulatedAlert, len(d.Alerts))
	for i, a := range d.Alerts {
		dec := decisions[i]
		a.Value = dec.Value
		sa := SimulatedAlert{Fingerprint: a.Fingerprint, Alertname: a.Labels["alertname"], Status: string(a.Status),
			Decision: dec.Action, Rule: dec.Rule, Reason: dec.Reason, Key: dec.Key, Value: dec.Value, Calls: []dryrun.Call{}}
		if dec.Action == incident.ActionWarRoom && a.Status == incident.AlertFiring {
			inc := &incident.Incident{ID: "INC-?", Key: dec.Key, Service: dec.Service, Env: dec.Env, Rule: dec.Rule,
				Severity: dec.Severity, State: incident.Triggered, WarRoom: true, Title: a.Annotations["summary"],
				Value: dec.Value, PeakValue: dec.Value, Threshold: dec.Threshold, OpenedAt: now}
			if inc.Title == "" {
				inc.Title = a.Labels["alertname"]
			}
			inc.SlackChannel = slackmsg.ChannelName(cfg.Slack.ChannelPrefix, now, dec.Service, 1)
			sa.Calls = []dryrun.Call{
				{System: "slack", Method: "conversations.create", Params: map[string]any{"name": inc.SlackChannel, "is_private": cfg.Slack.PrivateChannels}},
				{System: "slack", Method: "chat.postMessage", Params: map[string]any{"channel": "#" + inc.SlackChannel, "text": slackmsg.SummaryText(inc, []incident.Alert{a}, 1)}},
				{System: "jira", Method: "POST /rest/api/2/issue", Params: map[string]any{"summary": jirawiki.Summary(inc),
					"priority": cfg.Jira.Priorities[string(dec.Severity)], "project": cfg.Jira.Project}},
			}
		}
		out[i] = sa
	}
	return out
}
