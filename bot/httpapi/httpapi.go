// Package httpapi is warroom's HTTP surface apart from Slack: the alert
// webhooks of Alertmanager and Grafana, the JSON API of incidents, the
// deploy records (CI and Argo CD), their credentials, the guard of a
// loopback-only listener against browsers, health, readiness, the
// bot's own metrics and the reload of its configuration. Handlers change state through incident.Service and
// answer only after it committed; they never call Slack or Jira, nor any
// client of an outside system.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// Deps are what the HTTP surface takes from the composition root.
type Deps struct {
	// Config gives the webhook limits and the credentials of each part.
	Config  *config.Config
	Store   incident.Store
	Service *incident.Service
	// Hosts returns the hosts the evidence's links may point at in the
	// API, as the configuration in force says (a reload changes them);
	// nil allows none.
	Hosts   func() render.Hosts
	Metrics *Metrics
	// Reload re-reads the configuration for POST /-/reload; nil leaves
	// the endpoint out.
	Reload func(ctx context.Context) (Reloaded, error)
	// Registry is what /metrics serves.
	Registry *prometheus.Registry
	Log      *slog.Logger
	Now      func() time.Time
	// Tracer, if set, makes every webhook a span; nil: tracing off.
	Tracer trace.Tracer
}

// API serves the HTTP surface.
type API struct {
	cfg     *config.Config
	store   incident.Store
	svc     *incident.Service
	hosts   func() render.Hosts
	reload  func(ctx context.Context) (Reloaded, error)
	metrics *Metrics
	reg     *prometheus.Registry
	log     *slog.Logger
	now     func() time.Time
	tracer  trace.Tracer // nil: tracing off
	// auth guards the alert webhooks, apiAuth the JSON API and deployAuth
	// the deploy records (see newCredentials).
	auth, apiAuth, deployAuth authenticator
	// inflight counts the webhook body bytes in hand.
	inflight *budget
}

// New returns the HTTP surface of d.
func New(d Deps) *API {
	a := &API{cfg: d.Config, store: d.Store, svc: d.Service, hosts: d.Hosts, reload: d.Reload, metrics: d.Metrics, reg: d.Registry,
		log: d.Log, now: d.Now, tracer: d.Tracer,
		inflight: &budget{limit: cmp.Or(d.Config.Webhook.MaxInFlightBytes, config.DefaultMaxInFlightBytes)}}
	a.auth, a.apiAuth, a.deployAuth = newCredentials(d.Config)
	return a
}

// Routes adds the endpoints to mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/alerts/alertmanager", a.webhook(incident.SourceAlertmanager))
	mux.Handle("POST /api/v1/alerts/grafana", a.webhook(incident.SourceGrafana))
	mux.Handle("GET /api/v1/incidents", a.api("list", a.listIncidents))
	mux.Handle("GET /api/v1/incidents/{id}", a.api("show", a.showIncident))
	mux.Handle("GET /api/v1/incidents/{id}/postmortem", a.api("postmortem", a.showPostmortem))
	mux.Handle("POST /api/v1/incidents/{id}/{action}", a.api("action", a.incidentAction))
	mux.Handle("POST /api/v1/deploys", a.endpoint("deploy", a.deployAuth, false, a.recordDeploy))
	// Argo CD's webhook sends no Content-Type unless told to; where a
	// credential guards the deploy records, a browser cannot send one.
	mux.Handle("POST /api/v1/deploys/argocd", a.endpoint("deploy_argocd", a.deployAuth, !a.deployAuth.open(), a.recordArgoDeploy))
	mux.Handle("GET /api/v1/deploys", a.api("deploys", a.listDeploys))
	mux.Handle("GET /api/v1/report", a.api("report", a.report))
	// /-/healthy and /-/ready are the names of the Prometheus ecosystem.
	for _, path := range []string{"/healthz", "/-/healthy"} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})
	}
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /-/ready", a.readyz)
	if a.reload != nil {
		// As Prometheus's: a POST with no body (no type needed where a
		// credential guards it, as Argo CD's deploys); other methods 405.
		mux.Handle("POST /-/reload", a.endpoint("reload", a.apiAuth, !a.apiAuth.open(), a.reloadConfig))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
}

// linkHosts are the hosts the API's links may point at now.
func (a *API) linkHosts() render.Hosts {
	if a.hosts == nil {
		return render.Hosts{}
	}
	return a.hosts()
}

// Reloaded is what a reload of the configuration did: the settings that
// changed in the file but keep their running values until a restart.
type Reloaded struct {
	RestartNeeded []string `json:"restart_needed"`
}

// reloadConfig re-reads the configuration. A file that cannot be used
// leaves the running configuration in force and is answered 500 with the
// reason, as Prometheus answers.
func (a *API) reloadConfig(w http.ResponseWriter, r *http.Request) error {
	res, err := a.reload(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "failed to reload config: "+err.Error())
		return nil
	}
	if res.RestartNeeded == nil {
		res.RestartNeeded = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "restart_needed": res.RestartNeeded})
	return nil
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		// Ping's errors name no host or user: they can be shown.
		a.log.Warn("readiness: store not ready", "err", err)
		writeError(w, http.StatusServiceUnavailable, "store not ready: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
