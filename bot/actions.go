package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render/slackmsg"

	"github.com/warroom/warroom/bot/render"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager"
	"github.com/warroom/warroom/rules"
)

// ActionsExecutor runs the steps of responders' requests: the rollback
// webhook and the expiry of silences at resolve. Every other step goes to
// next. warroom never runs a rollback itself: it tells the deployer.
type ActionsExecutor struct {
	store    incident.Store
	cfg      *config.Config
	rules    *rules.Set
	silences *alertmanager.SilenceClient // nil: no alertmanager.url
	http     *http.Client
	next     incident.Executor
	log      *slog.Logger
	now      func() time.Time
}

var _ incident.Executor = (*ActionsExecutor)(nil)

// NewActionsExecutor returns the executor of responders' requests.
func NewActionsExecutor(store incident.Store, cfg *config.Config, set *rules.Set, silences *alertmanager.SilenceClient,
	next incident.Executor, log *slog.Logger, now func() time.Time) *ActionsExecutor {
	return &ActionsExecutor{store: store, cfg: cfg, rules: set, silences: silences, next: next, log: log, now: now,
		http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Execute implements incident.Executor.
func (x *ActionsExecutor) Execute(ctx context.Context, j incident.Job) error {
	switch j.Kind {
	case incident.JobRollbackWebhook:
		return x.rollbackWebhook(ctx, j)
	case incident.JobExpireSilences:
		return x.expireSilences(ctx, j)
	}
	return x.next.Execute(ctx, j)
}

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

// SignRollback returns the X-Warroom-Signature of body.
func SignRollback(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (x *ActionsExecutor) rollbackWebhook(ctx context.Context, j incident.Job) error {
	inc, err := jobIncident(ctx, x.store, j)
	if err != nil {
		return err
	}
	r, ok := x.rules.Lookup(inc.Rule)
	if !ok || r.Rollback.WebhookURL == "" {
		return nil // nothing to call: the request is on the timeline
	}
	ev := inc.Evidence
	if ev == nil || ev.Suspect == nil || ev.Target == nil {
		return incident.Permanent(fmt.Errorf("%s has no suspect deploy and target: nothing to roll back", inc.ID))
	}
	var args incident.JobArgs
	_ = json.Unmarshal(j.Args, &args)
	tl, err := x.store.Timeline(ctx, inc.ID)
	if err != nil {
		return err
	}
	req := RollbackRequest{Incident: inc.ID, Service: ev.Suspect.Service, Env: inc.Env, SuspectSHA: ev.Suspect.SHA,
		TargetRevision: ev.Target.SHA, Command: ev.Rollback, CommandWithheld: ev.RollbackWithheld, Key: j.Key}
	for _, e := range tl {
		if e.ID == args.EventID {
			req.RequestedBy, req.RequestedAt = e.Actor, e.At
		}
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Rollback.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return incident.Permanent(fmt.Errorf("rollback webhook: %w", err))
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Warroom-Signature", SignRollback(string(x.cfg.Rollback.WebhookSecret), body))
	hr.Header.Set("Idempotency-Key", j.Key)
	resp, err := x.http.Do(hr)
	if err != nil {
		return fmt.Errorf("rollback webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("rollback webhook: HTTP %d", resp.StatusCode)
	}
	return incident.Permanent(fmt.Errorf("rollback webhook: HTTP %d", resp.StatusCode))
}

// silenceTag marks the silences warroom makes for an incident, so that a
// retry finds them and the resolve expires them.
func silenceTag(id string) string { return "warroom " + id + ":" }

func (x *ActionsExecutor) expireSilences(ctx context.Context, j incident.Job) error {
	if x.silences == nil {
		return nil
	}
	inc, err := jobIncident(ctx, x.store, j)
	if err != nil {
		return err
	}
	if inc.State != incident.Resolved {
		return nil // reopened since
	}
	found, err := x.silences.Find(ctx, silenceTag(inc.ID))
	if err != nil {
		return err
	}
	for _, s := range found {
		if err := x.silences.Expire(ctx, s.ID); err != nil && !errors.Is(err, alertmanager.ErrSilenceNotFound) {
			return err
		}
	}
	return nil
}

// silenceMatchers are the matchers of an incident's alerts: the labels
// all its alerts share among service, env and the rule's key labels, and
// their alert names.
func silenceMatchers(inc *incident.Incident, alerts []incident.Alert) []alertmanager.Matcher {
	var ms []alertmanager.Matcher
	if inc.Service != "" {
		ms = append(ms, alertmanager.Matcher{Name: "service", Value: inc.Service, IsEqual: true})
	}
	if inc.Env != "" {
		ms = append(ms, alertmanager.Matcher{Name: "env", Value: inc.Env, IsEqual: true})
	}
	var names []string
	for _, a := range alerts {
		if n := a.Labels["alertname"]; n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		// Alertmanager compiles regex matchers with Go's regexp (RE2),
		// anchored, so Go's own quoting is exactly its dialect.
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = regexp.QuoteMeta(n)
		}
		ms = append(ms, alertmanager.Matcher{Name: "alertname", Value: strings.Join(quoted, "|"), IsRegex: true, IsEqual: true})
	}
	return ms
}

// parseSilence reads a silence duration: 30m, 2h, 1d; between a minute and
// a week.
func parseSilence(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return 0, fmt.Errorf("%q is not a duration between 1m and 7d (e.g. 30m, 2h, 1d)", s)
	}
	return d, nil
}

// silence creates an Alertmanager silence for an incident's alerts and
// puts it on the timeline.
func (s *Server) silence(ctx context.Context, inc *incident.Incident, user string, d time.Duration) (string, error) {
	if s.silences == nil {
		return "", incident.Errorf(incident.EINVALID, "silences need alertmanager.url in the config")
	}
	alerts, err := s.store.Alerts(ctx, inc.ID, 0)
	if err != nil {
		return "", err
	}
	ms := silenceMatchers(inc, alerts)
	if len(ms) == 0 {
		return "", incident.Errorf(incident.EINVALID, "%s has no labels to silence by", inc.ID)
	}
	now := s.now()
	id, err := s.silences.Create(ctx, alertmanager.Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: "warroom/" + user,
		Comment: silenceTag(inc.ID) + " silenced from Slack by " + user})
	if err != nil {
		return "", fmt.Errorf("alertmanager: %w", err)
	}
	var shown []string
	for _, m := range ms {
		shown = append(shown, m.String())
	}
	text := fmt.Sprintf("silenced for %s by %s: silence %s on {%s}, expired at resolve", render.HumanDuration(d), user, id, strings.Join(shown, ", "))
	if _, err := s.svc.Request(ctx, inc.ID, user, incident.EventSilenceRequested, text); err != nil {
		return "", err
	}
	return text, nil
}

// maxDeploysListed bounds /warroom deploys.
const maxDeploysListed = 8

func (sl *slackSurface) cmdDeploys(ctx context.Context, c *cmdCall) (slackMessage, error) {
	service := ""
	if len(c.args) > 0 {
		service = slackPlain(c.args[0])
	} else if c.inc != nil {
		service = c.inc.Service
	}
	if service == "" || len(c.args) > 1 {
		return slackMessage{}, badUsage("name a service (or ask inside its war room)")
	}
	ds, err := sl.srv.store.Deploys(ctx, incident.DeployFilter{Service: service, Limit: maxDeploysListed})
	if err != nil {
		return slackMessage{}, err
	}
	if len(ds) == 0 {
		return cmdEphemeral("No deploys of %s recorded. CI records them with `POST /api/v1/deploys` or `warroom deploys record`.", slackmsg.Escape(service)), nil
	}
	var suspect *incident.Deploy
	start := sl.now()
	if c.inc != nil && c.inc.Service == service {
		alerts, err := sl.srv.store.Alerts(ctx, c.inc.ID, render.SummaryAlerts)
		if err != nil {
			return slackMessage{}, err
		}
		start = render.AlertStart(c.inc, alerts)
		if ev := c.inc.Evidence; ev != nil {
			suspect = ev.Suspect
		}
	}
	lines := []string{fmt.Sprintf("*Deploys of %s*, newest first:", slackmsg.Escape(service))}
	for _, d := range linkHosts(sl.srv.cfg).Deploys(ds) {
		lines = append(lines, slackmsg.DeployLine(d, start, suspect != nil && d.SHA == suspect.SHA, ""))
	}
	return cmdEphemeral("%s", strings.Join(lines, "\n")), nil
}

func (sl *slackSurface) cmdRollback(_ context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) > 0 {
		return slackMessage{}, badUsage("rollback takes no arguments but the incident")
	}
	text := slackmsg.RollbackText(c.inc.Evidence, c.inc.OpenedAt)
	if text == "" {
		text = "No evidence yet: warroom is still gathering the deploys."
	}
	return cmdEphemeral("*Rollback suggestion for %s*\n%s\nThe *Roll back* button of the summary asks for it (recorded on the timeline, and sent to the rule's rollback webhook if one is configured); warroom never runs commands itself.",
		c.inc.ID, slackmsg.Escape(text)), nil
}

func (sl *slackSurface) cmdSilence(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) != 1 {
		return slackMessage{}, badUsage("silence needs a duration, e.g. 1h")
	}
	d, err := parseSilence(c.args[0])
	if err != nil {
		return slackMessage{}, badUsage("%s", err.Error())
	}
	if !c.inc.State.Open() {
		return slackMessage{}, incident.Errorf(incident.ECONFLICT, "%s is resolved", c.inc.ID)
	}
	text, err := sl.srv.silence(ctx, c.inc, c.user, d)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("*%s* %s", c.inc.ID, slackmsg.Escape(text)), nil
}

// rollbackButton records the decision to roll back, with the suggestion,
// and has the rule's webhook told.
func (sl *slackSurface) rollbackButton(ctx context.Context, user string, inc *incident.Incident) string {
	ev := inc.Evidence
	if ev == nil || ev.Suspect == nil || ev.Target == nil {
		why := "no suspect deploy with an earlier one to go back to"
		if ev != nil && ev.NoDeploys != "" {
			why = ev.NoDeploys
		}
		if _, err := sl.srv.svc.Request(ctx, inc.ID, user, incident.EventRollbackRequested, "rollback requested by "+user+": "+why); err != nil {
			return sl.errorText("button rollback", err)
		}
		return fmt.Sprintf("Rollback of %s put on the timeline, but there is nothing to roll back: %s.", inc.ID, slackmsg.Escape(why))
	}
	text := fmt.Sprintf("rollback of %s to %s decided by %s", incident.ShortSHA(ev.Suspect.SHA), incident.ShortSHA(ev.Target.SHA), user)
	switch {
	case ev.Rollback != "":
		text += ": " + ev.Rollback
	case ev.RollbackWithheld != "":
		text += " (" + render.OneLine(ev.RollbackWithheld, 300) + ")"
	}
	var steps []incident.JobKind
	r, ok := sl.srv.rules.Lookup(inc.Rule)
	hook := ok && r.Rollback.WebhookURL != ""
	if hook {
		steps = append(steps, incident.JobRollbackWebhook)
	}
	if _, err := sl.srv.svc.Request(ctx, inc.ID, user, incident.EventRollbackRequested, text, steps...); err != nil {
		return sl.errorText("button rollback", err)
	}
	if hook {
		return "Rollback decided and sent to the deployer: " + slackmsg.Escape(text)
	}
	return "Rollback decided and put on the timeline (no rollback webhook configured, so run it yourself): " + slackmsg.Escape(text)
}
