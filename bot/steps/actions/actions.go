// Package actions runs the steps of responders' requests: the call of a
// rule's rollback webhook, signed, and the expiry at resolve of the
// Alertmanager silences warroom made. It also makes those silences when a
// responder asks. warroom never runs a rollback itself: it tells the
// deployer. The calls of the steps are their plans (steps.Planner), sent
// exactly as planned.
package actions

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
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager"
)

// Executor runs the steps of responders' requests: the rollback webhook
// and the expiry of silences at resolve.
type Executor struct {
	d        steps.Deps
	p        steps.Planner
	silences *alertmanager.SilenceClient // nil: no alertmanager.url
	secret   string                      // the rollback webhook's signing key
	http     *http.Client
}

var _ incident.Executor = (*Executor)(nil)

// Kinds are the steps the actions executor runs.
func Kinds() []incident.JobKind {
	return []incident.JobKind{incident.JobRollbackWebhook, incident.JobExpireSilences}
}

// New returns the executor of responders' requests: silences is nil
// without alertmanager.url, secret signs the rollback webhook's calls
// (rollback.webhook_secret), rt carries them (nil: http.DefaultTransport).
func New(d steps.Deps, silences *alertmanager.SilenceClient, secret string, rt http.RoundTripper) *Executor {
	return &Executor{d: d, p: steps.Planner{Deps: d}, silences: silences, secret: secret,
		http: &http.Client{Timeout: 10 * time.Second, Transport: rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Execute implements incident.Executor.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	switch j.Kind {
	case incident.JobRollbackWebhook:
		return x.rollbackWebhook(ctx, j)
	case incident.JobExpireSilences:
		return x.expireSilences(ctx, j)
	}
	return incident.Permanent(fmt.Errorf("no action step %s", j.Kind))
}

// RollbackRequest is the JSON the rollback webhook receives.
type RollbackRequest = steps.RollbackRequest

// SignRollback returns the X-Warroom-Signature of body.
func SignRollback(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (x *Executor) rollbackWebhook(ctx context.Context, j incident.Job) error {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return err
	}
	var args incident.JobArgs
	_ = json.Unmarshal(j.Args, &args)
	tl, err := x.d.Store.TimelineSince(ctx, inc.ID, args.EventID-1)
	if err != nil {
		return err
	}
	c, ok, err := x.p.Rollback(inc, tl, j.Key, args.EventID)
	if !ok {
		return err
	}
	return x.send(ctx, c)
}

// send makes one planned call, as planned.
func (x *Executor) send(ctx context.Context, c steps.Call) error {
	switch a := c.Args.(type) {
	case steps.RollbackWebhook:
		return x.post(ctx, a)
	case steps.AlertmanagerExpireSilence:
		if x.silences == nil {
			break
		}
		if err := x.silences.Expire(ctx, a.ID); err != nil && !errors.Is(err, alertmanager.ErrSilenceNotFound) {
			return err
		}
		return nil
	}
	return incident.Permanent(fmt.Errorf("actions: cannot send %s %T", c.Method, c.Args))
}

// post sends a rollback request to the webhook, signed.
func (x *Executor) post(ctx context.Context, a steps.RollbackWebhook) error {
	body, _ := json.Marshal(a.Body) // a struct of plain fields: cannot fail
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return incident.Permanent(fmt.Errorf("rollback webhook: %w", err))
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Warroom-Signature", SignRollback(x.secret, body))
	hr.Header.Set("Idempotency-Key", a.IdempotencyKey)
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

func (x *Executor) expireSilences(ctx context.Context, j incident.Job) error {
	if x.silences == nil {
		return nil
	}
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return err
	}
	if inc.State != incident.Resolved {
		return nil // reopened since
	}
	found, err := x.silences.Find(ctx, steps.SilenceTag(inc.ID))
	if err != nil {
		return err
	}
	ids := make([]string, len(found))
	for i, s := range found {
		ids[i] = s.ID
	}
	for _, c := range x.p.ExpireSilences(ids) {
		if err := x.send(ctx, c); err != nil {
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

// Silence creates an Alertmanager silence of d for an incident's alerts,
// asked for by user, and puts it on the timeline; it returns the
// timeline's text. The silence is expired at resolve.
func (x *Executor) Silence(ctx context.Context, inc *incident.Incident, user string, d time.Duration) (string, error) {
	if x.silences == nil {
		return "", incident.Errorf(incident.EINVALID, "silences need alertmanager.url in the config")
	}
	alerts, err := x.d.Store.Alerts(ctx, inc.ID, 0)
	if err != nil {
		return "", err
	}
	ms := silenceMatchers(inc, alerts)
	if len(ms) == 0 {
		return "", incident.Errorf(incident.EINVALID, "%s has no labels to silence by", inc.ID)
	}
	now := x.d.Now()
	id, err := x.silences.Create(ctx, alertmanager.Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: "warroom/" + user,
		Comment: steps.SilenceTag(inc.ID) + " silenced from Slack by " + user})
	if err != nil {
		return "", fmt.Errorf("alertmanager: %w", err)
	}
	var shown []string
	for _, m := range ms {
		shown = append(shown, m.String())
	}
	text := fmt.Sprintf("silenced for %s by %s: silence %s on {%s}, expired at resolve", render.HumanDuration(d), user, id, strings.Join(shown, ", "))
	if _, err := x.d.Service.Request(ctx, inc.ID, user, incident.EventSilenceRequested, text); err != nil {
		return "", err
	}
	return text, nil
}
