package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/warroom/warroom/incident"
)

// apiFunc is one JSON API endpoint; an error is mapped to a status by code.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// api is an endpoint of the JSON API, guarded by the API's credentials
// (api.bearer_token, else the webhook's; the CLI sends $WARROOM_TOKEN).
func (a *API) api(route string, fn apiFunc) http.Handler {
	return a.endpoint(route, a.apiAuth, false, fn)
}

// endpoint authenticates with auth, insists on a JSON body for a POST
// (415 otherwise; with bare, one that declares no type passes, see
// jsonContentType), counts the request and maps errors: not_found 404,
// invalid 400, conflict 409, unavailable 503, anything else 500 with no
// detail shown.
func (a *API) endpoint(route string, auth authenticator, bare bool, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { a.metrics.apiRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc() }()
		if why := auth.check(r); why != "" {
			auth.challenge(rec)
			writeError(rec, http.StatusUnauthorized, why)
			return
		}
		if r.Method == http.MethodPost {
			if why := jsonContentType(r, bare); why != "" {
				writeError(rec, http.StatusUnsupportedMediaType, why)
				return
			}
		}
		err := fn(rec, r)
		if err == nil {
			return
		}
		code := http.StatusInternalServerError
		if errors.Is(err, context.DeadlineExceeded) {
			// A read the store's timeout cut short.
			err = incident.Errorf(incident.EUNAVAILABLE, "store unavailable: no answer in time; retry")
		}
		switch incident.ErrorCode(err) {
		case incident.ENOTFOUND:
			code = http.StatusNotFound
		case incident.EINVALID:
			code = http.StatusBadRequest
		case incident.ECONFLICT:
			code = http.StatusConflict
		case incident.EUNAVAILABLE:
			code = http.StatusServiceUnavailable
		case incident.EUNAUTHORIZED:
			code = http.StatusForbidden
		}
		if code >= 500 {
			a.log.Error("api", "route", route, "err", err)
		}
		writeError(rec, code, incident.ErrorMessage(err))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := incident.Filter{Service: q.Get("service")}
	if v := q.Get("storm"); v != "" {
		id, err := incident.ParseID(v)
		if err != nil {
			return err
		}
		f.Storm = id
	}
	if v := q.Get("state"); v != "" {
		st, err := incident.ParseState(v)
		if err != nil {
			return incident.Errorf(incident.EINVALID, "%s", err.Error())
		}
		f.State = st
	}
	if v := q.Get("all"); v != "" {
		all, err := strconv.ParseBool(v)
		if err != nil {
			return incident.Errorf(incident.EINVALID, "all=%q: want true or false", v)
		}
		f.All = all
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return incident.Errorf(incident.EINVALID, "limit=%q: want 1 to 1000", v)
		}
		f.Limit = n
	}
	list, err := a.store.Incidents(r.Context(), f)
	if err != nil {
		return err
	}
	hosts := a.linkHosts()
	for i := range list {
		list[i] = hosts.Incident(list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list,
		"slack_dry_run": a.cfg.SlackDryRun(), "jira_dry_run": a.cfg.JiraDryRun()})
	return nil
}

// IncidentView is the single-incident view of the API. Its lists are
// bounded, so that an incident with a storm's alerts or a long timeline
// still answers in one modest response: the counts and the cursor say
// what more there is.
type IncidentView struct {
	*incident.Incident
	// Alerts lists the alerts, firing first, at most alerts_limit.
	Alerts []incident.Alert `json:"alerts"`
	// AlertsTotal counts all the incident's alerts; AlertsTruncated says
	// that Alerts holds fewer.
	AlertsTotal     int  `json:"alerts_total"`
	AlertsTruncated bool `json:"alerts_truncated"`
	// Timeline is one page of the timeline, oldest first: at most
	// timeline_limit events after the event timeline_after.
	Timeline []incident.Event `json:"timeline"`
	// TimelineNext, when set, is the timeline_after of the next page.
	TimelineNext int64 `json:"timeline_next,omitempty"`
	// Jobs lists the newest jobs, oldest first; JobsTotal counts them all.
	Jobs      []incident.JobStatus `json:"jobs"`
	JobsTotal int                  `json:"jobs_total"`
	// SlackDryRun says that Slack runs in dry run: slack_channel is the
	// name a war room would have, and no channel was made. JiraDryRun
	// says the same of Jira: no ticket is filed.
	SlackDryRun bool `json:"slack_dry_run"`
	JiraDryRun  bool `json:"jira_dry_run"`
}

// The bounds of the single-incident view's lists: the default size, and
// the most a client may ask for.
const (
	DefaultViewAlerts   = 100
	MaxViewAlerts       = 1000
	DefaultViewTimeline = 500
	MaxViewTimeline     = 2000
	// MaxViewJobs bounds the jobs shown: the newest ones, which say what
	// is going on now.
	MaxViewJobs = 200
)

func (a *API) showIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incident.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeView(w, r, id)
}

// writeView answers with the single-incident view.
func (a *API) writeView(w http.ResponseWriter, r *http.Request, id string) error {
	v, err := a.view(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// viewQuery is the paging of the single-incident view.
type viewQuery struct {
	alerts, timeline int
	after            int64
}

func parseViewQuery(r *http.Request) (viewQuery, error) {
	q := r.URL.Query()
	vq := viewQuery{alerts: DefaultViewAlerts, timeline: DefaultViewTimeline}
	limit := func(key string, most int, dst *int) error {
		v := q.Get(key)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			return incident.Errorf(incident.EINVALID, "%s=%q: want 1 to %d", key, truncateRunes(v, 20), most)
		}
		*dst = n
		return nil
	}
	if err := limit("alerts_limit", MaxViewAlerts, &vq.alerts); err != nil {
		return vq, err
	}
	if err := limit("timeline_limit", MaxViewTimeline, &vq.timeline); err != nil {
		return vq, err
	}
	if v := q.Get("timeline_after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return vq, incident.Errorf(incident.EINVALID, "timeline_after=%q: want an event ID (timeline_next of the last page)", truncateRunes(v, 20))
		}
		vq.after = n
	}
	return vq, nil
}

// truncateRunes cuts s to at most n runes, so that an error never echoes
// a long input.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func (a *API) view(r *http.Request, id string) (*IncidentView, error) {
	vq, err := parseViewQuery(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	inc, err := a.store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	// The evidence's links are the war room's: only to allowed hosts.
	v := &IncidentView{Incident: a.linkHosts().Incident(inc), SlackDryRun: a.cfg.SlackDryRun(), JiraDryRun: a.cfg.JiraDryRun()}
	if v.Alerts, err = a.store.Alerts(ctx, id, vq.alerts); err != nil {
		return nil, err
	}
	if v.AlertsTotal, _, err = a.store.CountAlerts(ctx, id); err != nil {
		return nil, err
	}
	v.AlertsTruncated = len(v.Alerts) < v.AlertsTotal
	// One event more than the page tells whether there is a next page.
	if v.Timeline, err = a.store.TimelinePage(ctx, id, vq.after, vq.timeline+1); err != nil {
		return nil, err
	}
	if len(v.Timeline) > vq.timeline {
		v.Timeline = v.Timeline[:vq.timeline]
		v.TimelineNext = v.Timeline[len(v.Timeline)-1].ID
	}
	if v.Jobs, err = a.store.Jobs(ctx, id); err != nil {
		return nil, err
	}
	v.JobsTotal = len(v.Jobs)
	if len(v.Jobs) > MaxViewJobs {
		v.Jobs = v.Jobs[len(v.Jobs)-MaxViewJobs:]
	}
	return v, nil
}

// actionRequest is the optional body of an incident action.
type actionRequest struct {
	Actor string `json:"actor"`
	Text  string `json:"text"`
	// Jira marks a note for the ticket: it becomes a comment there.
	Jira bool `json:"jira"`
	// User and Role are assign's: who gets which role (commander, comms,
	// scribe); a Slack user ID renders as a mention.
	User string `json:"user"`
	Role string `json:"role"`
	// Severity is severity's level: critical, major or minor.
	Severity string `json:"severity"`
}

// MaxActionBody caps an action's JSON body.
const MaxActionBody = 64 << 10

func (a *API) incidentAction(w http.ResponseWriter, r *http.Request) error {
	id, err := incident.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req actionRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxActionBody))
	if err != nil {
		return incident.Errorf(incident.EINVALID, "body over %d bytes or unreadable", MaxActionBody)
	}
	if err := checkNUL(body); err != nil {
		return incident.Errorf(incident.EINVALID, "%s", err.Error())
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return incident.Errorf(incident.EINVALID, "malformed JSON: %s", jsonErr(err))
		}
	}
	actor := "api"
	if name := strings.TrimSpace(req.Actor); name != "" {
		if len(name) > 64 {
			return incident.Errorf(incident.EINVALID, "actor longer than 64 characters")
		}
		actor = "api:" + name
	}
	ctx := r.Context()
	switch action := r.PathValue("action"); action {
	case "ack":
		_, err = a.svc.Ack(ctx, id, actor)
	case "mitigate":
		_, err = a.svc.Mitigate(ctx, id, actor)
	case "resolve":
		_, err = a.svc.Resolve(ctx, id, actor, req.Text)
	case "note":
		_, err = a.svc.Note(ctx, id, actor, req.Text, req.Jira)
	case "assign":
		err = a.assign(ctx, id, actor, req)
	case "severity":
		err = a.severity(ctx, id, actor, req)
	case "followups":
		return a.followup(w, r, id, actor, req)
	default:
		return incident.Errorf(incident.ENOTFOUND, "unknown action %q (want ack, mitigate, resolve, note, assign, severity or followups)", action)
	}
	if err != nil {
		return err
	}
	return a.writeView(w, r, id)
}

// severity sets the incident's severity; the one it has already changes
// nothing, and is answered like a change.
func (a *API) severity(ctx context.Context, id, actor string, req actionRequest) error {
	if strings.TrimSpace(req.Severity) == "" {
		return incident.Errorf(incident.EINVALID, `severity needs a "severity" (valid: critical, major, minor)`)
	}
	sev, err := incident.ParseSeverityLevel(req.Severity)
	if err != nil {
		return err
	}
	_, _, err = a.svc.SetSeverity(ctx, id, actor, sev)
	return err
}

// followup asks for a follow-up ({"actor", "text"}): 201 with the view,
// whose timeline holds the request; its Jira issue follows as a step.
func (a *API) followup(w http.ResponseWriter, r *http.Request, id, actor string, req actionRequest) error {
	if req.Jira || req.User != "" || req.Role != "" || req.Severity != "" {
		return incident.Errorf(incident.EINVALID, `a follow-up takes "actor" and "text" only`)
	}
	if _, err := a.svc.Followup(r.Context(), id, actor, req.Text); err != nil {
		return err
	}
	v, err := a.view(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// maxUser bounds the user an assign names, as the actor is bounded.
const maxUser = 64

func (a *API) assign(ctx context.Context, id, actor string, req actionRequest) error {
	user := strings.TrimSpace(req.User)
	switch {
	case user == "":
		return incident.Errorf(incident.EINVALID, `assign needs a "user"`)
	case len(user) > maxUser || strings.ContainsFunc(user, unicode.IsControl):
		return incident.Errorf(incident.EINVALID, "user: at most %d characters and no control characters", maxUser)
	}
	role, err := incident.ParseRole(req.Role)
	if err != nil {
		return err
	}
	_, err = a.svc.Assign(ctx, id, actor, user, role)
	return err
}
