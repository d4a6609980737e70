package steps

import (
	"fmt"
	"time"

	"github.com/warroom/warroom/incident"
)

// RollbackRequest is the JSON the rollback webhook receives, signed with
// HMAC-SHA256 of the body in X-Warroom-Signature ("sha256=<hex>").
type RollbackRequest struct {
	Incident       string    `json:"incident"`
	Service        string    `json:"service"`
	Env            string    `json:"env,omitempty"`
	SuspectSHA     string    `json:"suspect_sha"`
	TargetRevision string    `json:"target_revision"`
	Command        string    `json:"command,omitempty"`
	RequestedBy    string    `json:"requested_by"`
	RequestedAt    time.Time `json:"requested_at"`
	// Key identifies the request: a retried delivery carries the same key.
	Key string `json:"key"`
	// CommandWithheld says why there is no command although the rule has
	// one: a value it would use (an alert label, a revision) is not of its
	// kind, so warroom suggests nothing to run.
	CommandWithheld string `json:"command_withheld,omitempty"`
}

// Rollback calls the rule's rollback webhook with the suggestion of the
// evidence, for the request of timeline event requested; key is the
// step's key, which a retried delivery repeats. ok is false when the
// rule has no webhook; an incident with no suspect deploy and target
// fails for good.
func (p Planner) Rollback(inc *incident.Incident, tl []incident.Event, key string, requested int64) (c Call, ok bool, err error) {
	r, found := p.Rules.Lookup(inc.Rule)
	if !found || r.Rollback.WebhookURL == "" {
		return Call{}, false, nil // nothing to call: the request is on the timeline
	}
	ev := inc.Evidence
	if ev == nil || ev.Suspect == nil || ev.Target == nil {
		return Call{}, false, incident.Permanent(fmt.Errorf("%s has no suspect deploy and target: nothing to roll back", inc.ID))
	}
	req := RollbackRequest{Incident: inc.ID, Service: ev.Suspect.Service, Env: inc.Env, SuspectSHA: ev.Suspect.SHA,
		TargetRevision: ev.Target.SHA, Command: ev.Rollback, CommandWithheld: ev.RollbackWithheld, Key: key}
	for _, e := range tl {
		if e.ID == requested {
			req.RequestedBy, req.RequestedAt = e.Actor, e.At
		}
	}
	return NewCall(RollbackWebhook{URL: r.Rollback.WebhookURL, IdempotencyKey: key, Body: req}), true, nil
}

// ExpireSilences expires the silences of ids.
func (p Planner) ExpireSilences(ids []string) []Call {
	calls := make([]Call, 0, len(ids))
	for _, id := range ids {
		calls = append(calls, NewCall(AlertmanagerExpireSilence{ID: id}))
	}
	return calls
}

// SilenceTag marks the silences warroom makes for an incident, at the
// start of their comment, so that a retry finds them and the resolve
// expires them.
func SilenceTag(id string) string { return "warroom " + id + ":" }
