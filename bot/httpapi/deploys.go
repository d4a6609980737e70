package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// MaxDeployBody caps a deploy notification.
const MaxDeployBody = 1 << 20

// deployRequest is POST /api/v1/deploys, as CI pipelines send it.
type deployRequest struct {
	Service     string    `json:"service"`
	Env         string    `json:"env"`
	SHA         string    `json:"sha"`
	PreviousSHA string    `json:"previous_sha"`
	Version     string    `json:"version"`
	Author      string    `json:"author"`
	URL         string    `json:"url"`
	FinishedAt  time.Time `json:"finished_at"`
	// ID is the caller's idempotency key: the same deploy sent again with
	// it is recorded once.
	ID idempotencyKey `json:"id"`
}

// idempotencyKey is a deploy's "id": a string, or a number as CI systems
// number their runs.
type idempotencyKey string

func (k *idempotencyKey) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = idempotencyKey(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("id: want a string or a number")
	}
	*k = idempotencyKey(n.String())
	return nil
}

// readJSON reads a capped JSON body into v, strictly when strict.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, strict bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return incident.Errorf(incident.EINVALID, "body over %d bytes", limit)
		}
		return incident.Errorf(incident.EINVALID, "unreadable body")
	}
	if err := checkNUL(body); err != nil {
		return incident.Errorf(incident.EINVALID, "%s", err.Error())
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return incident.Errorf(incident.EINVALID, "malformed JSON: %s", jsonErr(err))
	}
	return nil
}

func (a *API) recordDeploy(w http.ResponseWriter, r *http.Request) error {
	var req deployRequest
	if err := readJSON(w, r, MaxDeployBody, &req, true); err != nil {
		return err
	}
	d := incident.Deploy{Service: req.Service, Env: req.Env, SHA: req.SHA, PreviousSHA: req.PreviousSHA, Version: req.Version,
		Author: req.Author, URL: req.URL, FinishedAt: req.FinishedAt, Source: "api", IdempotencyKey: string(req.ID)}
	return a.storeDeploy(w, r, &d)
}

func (a *API) storeDeploy(w http.ResponseWriter, r *http.Request, d *incident.Deploy) error {
	added, err := a.svc.RecordDeploy(r.Context(), d)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if !added {
		code = http.StatusOK // recorded already: a CI job that reports twice
	}
	writeJSON(w, code, map[string]any{"deploy": d, "recorded": added})
	return nil
}

// argoApp is the part of an Argo CD Application that a notification
// template sends with {{toJson .app}}.
type argoApp struct {
	Metadata struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Source struct {
			RepoURL string `json:"repoURL"`
		} `json:"source"`
		Destination struct {
			Namespace string `json:"namespace"`
		} `json:"destination"`
	} `json:"spec"`
	Status struct {
		Sync struct {
			Revision string `json:"revision"`
		} `json:"sync"`
		OperationState struct {
			Phase      string    `json:"phase"`
			FinishedAt time.Time `json:"finishedAt"`
			Operation  struct {
				InitiatedBy struct {
					Username string `json:"username"`
				} `json:"initiatedBy"`
			} `json:"operation"`
			SyncResult struct {
				Revision string `json:"revision"`
			} `json:"syncResult"`
		} `json:"operationState"`
		History []struct {
			Revision   string    `json:"revision"`
			DeployedAt time.Time `json:"deployedAt"`
		} `json:"history"`
	} `json:"status"`
}

// recordArgoDeploy takes Argo CD's notification webhook: a template whose
// body is {"app": {{toJson .app}}} (see README). The service is the
// app.kubernetes.io/name label, else the application's name; the env the
// env label, else the destination namespace.
func (a *API) recordArgoDeploy(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		App *argoApp `json:"app"`
	}
	if err := readJSON(w, r, MaxDeployBody, &req, false); err != nil {
		return err
	}
	app := req.App
	if app == nil || app.Metadata.Name == "" {
		return incident.Errorf(incident.EINVALID, `want {"app": {{toJson .app}}} from an Argo CD notification template`)
	}
	if p := app.Status.OperationState.Phase; p != "" && p != "Succeeded" {
		writeJSON(w, http.StatusOK, map[string]any{"recorded": false, "reason": "sync phase " + p})
		return nil
	}
	d := incident.Deploy{Service: app.Metadata.Name, Env: app.Spec.Destination.Namespace, Source: "argocd",
		SHA: app.Status.OperationState.SyncResult.Revision, FinishedAt: app.Status.OperationState.FinishedAt,
		Author: app.Status.OperationState.Operation.InitiatedBy.Username}
	if n := app.Metadata.Labels["app.kubernetes.io/name"]; n != "" {
		d.Service = n
	}
	if e := app.Metadata.Labels["env"]; e != "" {
		d.Env = e
	}
	if d.SHA == "" {
		d.SHA = app.Status.Sync.Revision
	}
	if h := app.Status.History; len(h) >= 2 {
		d.PreviousSHA = h[len(h)-2].Revision
	}
	// An application from a Helm repository syncs to a chart version, not
	// a commit: it is recorded as the version, and its history's versions
	// are no previous commit. Any other revision that is not a commit is
	// refused by RecordDeploy, as a sha that is not one.
	if !incident.IsSHA(d.SHA) && rules.IsRevision(d.SHA) {
		d.Version, d.SHA = d.SHA, ""
		if !incident.IsSHA(d.PreviousSHA) {
			d.PreviousSHA = ""
		}
	}
	if u := app.Spec.Source.RepoURL; strings.HasPrefix(u, "https://") {
		d.URL = u
	}
	return a.storeDeploy(w, r, &d)
}

func (a *API) listDeploys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := incident.DeployFilter{Service: q.Get("service"), Env: q.Get("env")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return incident.Errorf(incident.EINVALID, "limit=%q: want a positive number", v)
		}
		f.Limit = n
	}
	ds, err := a.store.Deploys(r.Context(), f)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []incident.Deploy{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deploys": ds})
	return nil
}
