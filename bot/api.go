package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/warroom/warroom/incident"
)

// apiFunc is one JSON API endpoint; an error is mapped to a status by code.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// api authenticates like the webhooks (the CLI sends the same token),
// counts the request and maps errors: not_found 404, invalid 400,
// conflict 409, unavailable 503, anything else 500 with no detail shown.
func (s *Server) api(route string, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { s.metrics.apiRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc() }()
		if why := s.auth.check(r); why != "" {
			s.auth.challenge(rec)
			writeError(rec, http.StatusUnauthorized, why)
			return
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
			s.log.Error("api", "route", route, "err", err)
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

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := incident.Filter{Service: q.Get("service")}
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
	list, err := s.store.Incidents(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
	return nil
}

// IncidentView is the single-incident view of the API.
type IncidentView struct {
	*incident.Incident
	Alerts   []incident.Alert     `json:"alerts"`
	Timeline []incident.Event     `json:"timeline"`
	Jobs     []incident.JobStatus `json:"jobs"`
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incident.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeView(w, r, id)
}

// writeView answers with the single-incident view.
func (s *Server) writeView(w http.ResponseWriter, r *http.Request, id string) error {
	v, err := s.view(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) view(r *http.Request, id string) (*IncidentView, error) {
	ctx := r.Context()
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &IncidentView{Incident: inc}
	if v.Alerts, err = s.store.Alerts(ctx, id, 0); err != nil {
		return nil, err
	}
	if v.Timeline, err = s.store.Timeline(ctx, id); err != nil {
		return nil, err
	}
	if v.Jobs, err = s.store.Jobs(ctx, id); err != nil {
		return nil, err
	}
	return v, nil
}

// actionRequest is the optional body of an incident action.
type actionRequest struct {
	Actor string `json:"actor"`
	Text  string `json:"text"`
	// Jira marks a note for the ticket: it becomes a comment there.
	Jira bool `json:"jira"`
}

// MaxActionBody caps an action's JSON body.
const MaxActionBody = 64 << 10

func (s *Server) incidentAction(w http.ResponseWriter, r *http.Request) error {
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
	if a := strings.TrimSpace(req.Actor); a != "" {
		if len(a) > 64 {
			return incident.Errorf(incident.EINVALID, "actor longer than 64 characters")
		}
		actor = "api:" + a
	}
	ctx := r.Context()
	switch action := r.PathValue("action"); action {
	case "ack":
		_, err = s.svc.Ack(ctx, id, actor)
	case "mitigate":
		_, err = s.svc.Mitigate(ctx, id, actor)
	case "resolve":
		_, err = s.svc.Resolve(ctx, id, actor, req.Text)
	case "note":
		_, err = s.svc.Note(ctx, id, actor, req.Text, req.Jira)
	default:
		return incident.Errorf(incident.ENOTFOUND, "unknown action %q (want ack, mitigate, resolve or note)", action)
	}
	if err != nil {
		return err
	}
	return s.writeView(w, r, id)
}
