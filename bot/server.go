// Package bot is warroom's composition root: it opens the store, builds
// the incident service, the executors of the side effects and the one
// table that routes steps to them, and the two surfaces (httpapi and
// slackbot), hands each what it needs from the configuration, and runs
// and closes them together. It is the one package that imports every
// room; the rooms are described in docs/ARCHITECTURE.md:
//
//   - config: the configuration, strict YAML, secrets and validation;
//   - render, render/slackmsg, render/jirawiki: pure rendering;
//   - steps and steps/*: the job executors, one per outside system;
//   - httpapi: webhooks, the JSON API, deploys, health and metrics;
//   - slackbot: Slack's commands, buttons and Socket Mode.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/page"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/slackbot"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/bot/telemetry"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// Deps are what a Server takes from its caller instead of from globals.
type Deps struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: a fresh one
	Now      func() time.Time
	// Load reads the configuration again, for Reload (SIGHUP and POST
	// /-/reload); nil: the configuration cannot be reloaded.
	Load func() (*config.Config, error)
	// Version is the stamped version, for warroom_build_info and the
	// traces; "" takes the module's.
	Version string
	// Getenv reads the OTEL_* variables that configure tracing; nil is
	// os.Getenv.
	Getenv func(string) string
}

// Server is a running warroom: store, service, job worker and HTTP surface.
type Server struct {
	// cfg is the configuration the server started with: what a reload
	// cannot change (listeners, storage, credentials, ...) keeps its
	// values from here. What a reload changes is in cur.
	cfg     *config.Config
	cur     atomic.Pointer[live]
	load    func() (*config.Config, error)
	log     *slog.Logger
	now     func() time.Time
	reg     *prometheus.Registry
	store   *sqlstore.Store
	svc     *incident.Service
	worker  *incident.Worker
	metrics *httpapi.Metrics
	telem   *telemetry.Metrics
	tracing *telemetry.Tracing
	api     *httpapi.API
	slack   *slackbot.Surface
	// page and publicPage are the incident page of listen and of
	// public_listen: the second opens to no credential but a signed link
	// or the API's.
	page, publicPage *page.Page
	// dryRun is the dry run's log, which every configuration's dry-run
	// executor shares (dryrun.Executor.With); Close closes it.
	dryRun *dryrun.Executor
	// reloading makes reloads one at a time.
	reloading sync.Mutex

	mu                 sync.Mutex
	listener, pubLstnr net.Listener
}

// New opens the store (applying migrations) and wires the server. Close it
// when Run is not called.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys := cfg.UnresolvedSecrets(); len(keys) > 0 {
		// Load reported why; a server without them would run Slack or
		// Jira in a mode nobody asked for, or lock out its own API.
		return nil, fmt.Errorf("secrets configured but not resolved: %s", strings.Join(keys, ", "))
	}
	s := &Server{cfg: cfg, load: deps.Load, log: deps.Logger, now: deps.Now, reg: deps.Registry}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if _, err := cfg.RuleSet(); err != nil {
		return nil, err
	}
	getenv := deps.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	tracing, err := telemetry.NewTracing(ctx, getenv, deps.Version)
	if err != nil {
		return nil, err
	}
	s.tracing = tracing
	s.telem = telemetry.NewMetrics(s.reg, deps.Version)
	tracer := tracing.Tracer()

	store, err := sqlstore.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, sqlstore.Options{Logger: s.log,
		Timeout: cfg.Storage.Timeout.Duration(), WALLimit: cfg.Storage.WALLimitBytes})
	if err != nil {
		_ = tracing.Shutdown(ctx)
		return nil, err
	}
	s.store = store
	s.metrics = httpapi.NewMetrics(s.reg, store, s.now)
	if store.Driver() == sqlstore.SQLite {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "warroom_store_wal_bytes",
			Help: "Size of the SQLite write-ahead log; the checkpointer truncates it past its limit.",
		}, func() float64 {
			n, _ := store.WALSize()
			return float64(n)
		}))
	}

	// The service decides with the rules in force: one delivery is judged
	// whole by the rules of one configuration.
	s.svc = incident.NewService(store, liveRules{&s.cur}, incident.Options{
		ReopenWindow: cfg.ReopenWindow.Duration(),
		ArchiveAfter: archiveAfter(cfg),
		ChannelName: func(inc *incident.Incident, n int64) string {
			return slackmsg.ChannelName(cfg.Slack.ChannelPrefix, inc.OpenedAt, inc.Service, n)
		},
		Now: s.now, AfterCommit: func() { s.worker.Notify() },
		MaxNewWarRoomsPerDelivery: cfg.Limits.MaxNewWarRoomsPerDelivery,
		MaxNewWarRoomsPerMinute:   cfg.Limits.MaxNewWarRoomsPerMinute,
		Tracer:                    tracer,
		WarRoomReady:              s.telem.WarRoomReady,
		WarRoomTimed:              s.metrics.WarRoomTimed,
		Ready:                     incident.ReadyParts{Channel: !cfg.SlackDryRun(), Ticket: !cfg.JiraDryRun()},
		Reminders: incident.Reminders{AckWithin: cfg.Reminders.AckWithinOr(), Page: cfg.PagerDuty.Configured(),
			UpdateEvery: func(sev incident.Severity) time.Duration {
				return cfg.Reminders.UpdateEveryFor(sev == incident.Critical)
			}},
		Storm: incident.Storm{Threshold: cfg.Storm.ThresholdOr(), Window: cfg.Storm.WindowOr()},
	})
	l, err := s.build(cfg, nil)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.cur.Store(l)
	s.metrics.ConfigLoaded(true, s.now())
	s.worker = incident.NewWorker(store, liveTable{&s.cur}, incident.WorkerOptions{
		Logger: s.log, Now: s.now, Observe: s.metrics.ObserveJob, Tracer: tracer,
		Lease: cfg.Jobs.Lease.Duration(), Heartbeat: cfg.Jobs.Heartbeat.Duration(),
		ShutdownGrace: cfg.Jobs.ShutdownGrace.Duration(), Concurrency: cfg.Jobs.Concurrency,
	})
	d := httpapi.Deps{Config: cfg, Store: store, Service: s.svc, Hosts: func() render.Hosts { return s.cur.Load().hosts },
		Metrics: s.metrics, Registry: s.reg, Log: s.log, Now: s.now, Tracer: tracer}
	if s.load != nil {
		d.Reload = s.Reload
	}
	s.api = httpapi.New(d)
	s.slack = slackbot.New(slackbot.Deps{Service: s.svc, Store: store, Settings: func() *slackbot.Settings { return s.cur.Load().slack },
		SigningSecret: string(cfg.Slack.SigningSecret), Log: s.log, Now: s.now})
	s.page, s.publicPage = s.newPage(false), s.newPage(true)
	return s, nil
}

// newPage is the incident page, of public_listen when public: there the
// API's credentials open it only where the API has some (a loopback-only
// API's openness does not carry over to a public listener).
func (s *Server) newPage(public bool) *page.Page {
	return page.New(page.Deps{Store: s.store, Log: s.log, Now: s.now,
		Hosts:  func() render.Hosts { return s.cur.Load().hosts },
		Signer: func() *page.Signer { return s.cur.Load().signer },
		Links: func(inc *incident.Incident, alerts []incident.Alert) []render.Link {
			return s.cur.Load().links(inc, alerts)
		},
		Authorized: func(r *http.Request) bool { return s.api.Authorized(r, public) }})
}

// Handler returns the HTTP surface of listen: the JSON API, webhooks,
// health, metrics and reload, and Slack's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.api.Routes(mux)
	s.slack.Routes(mux)
	s.page.Routes(mux)
	if !s.cfg.Webhook.Configured() {
		// No webhook credentials: the listener is loopback only (see
		// ListenAddr), and only the browser-facing checks stand between
		// a web page and the API. Slack's endpoints are left to their
		// signatures.
		return httpapi.LoopbackGuard(mux, slackbot.Paths()...)
	}
	return mux
}

// PublicHandler returns the HTTP surface of public_listen: Slack's
// endpoints and the read-only incident page, nothing else (404), so that
// an Ingress that exposes it exposes no webhook, API, metrics or reload.
// Slack's signatures guard the first, signed links or the API's
// credentials the second.
func (s *Server) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	s.slack.Routes(mux)
	s.publicPage.Routes(mux)
	return mux
}

// ListenAddr decides the address to listen on: without webhook auth,
// warroom listens on loopback only, whatever the config asks.
func ListenAddr(cfg *config.Config) (addr string, forced bool, err error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "", false, fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if cfg.Webhook.Configured() {
		return cfg.Listen, false, nil
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return cfg.Listen, false, nil
	}
	return net.JoinHostPort("127.0.0.1", port), true, nil
}

// Addr returns the address Run listens on, once it listens.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// PublicAddr returns the address of public_listen, once Run listens there
// ("" without public_listen).
func (s *Server) PublicAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pubLstnr == nil {
		return ""
	}
	return s.pubLstnr.Addr().String()
}

// Run serves HTTP and runs the job worker until ctx ends, then shuts down
// gracefully: it stops accepting, lets in-flight requests finish (within
// ShutdownGrace), stops the worker and closes the store. Pending jobs stay
// for the next start.
func (s *Server) Run(ctx context.Context) error {
	defer func() { _ = s.Close() }()
	addr, forced, err := ListenAddr(s.cfg)
	if err != nil {
		return err
	}
	if forced {
		s.log.Warn("no webhook authentication configured: listening on loopback only", "listen", addr, "configured", s.cfg.Listen)
	} else if !s.cfg.Webhook.Configured() {
		s.log.Warn("no webhook authentication configured: loopback only; set webhook.bearer_token or basic_auth to listen elsewhere", "listen", addr)
	}
	if sys := dryRunSystems(s.cfg); len(sys) > 0 {
		s.log.Warn("dry run: these systems are not called; their calls are written to the dry-run log",
			"systems", strings.Join(sys, ", "), "dry_run_log", s.cfg.DryRunLog)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var pub net.Listener
	if s.cfg.PublicListen != "" {
		if pub, err = net.Listen("tcp", s.cfg.PublicListen); err != nil {
			_ = ln.Close()
			return fmt.Errorf("public_listen: %w", err)
		}
	}
	s.mu.Lock()
	s.listener, s.pubLstnr = ln, pub
	s.mu.Unlock()
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	srv := newServer(s.Handler())
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		_ = s.worker.Run(workerCtx)
	}()
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var pubSrv *http.Server
	if pub != nil {
		pubSrv = newServer(s.PublicHandler())
		go func() { serveErr <- pubSrv.Serve(pub) }()
	}
	socketDone := make(chan struct{})
	socketCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	if s.cfg.Slack.AppToken != "" {
		go func() {
			defer close(socketDone)
			socket := slackbot.SocketOptions{AppToken: string(s.cfg.Slack.AppToken), BotToken: string(s.cfg.Slack.BotToken),
				APIURL: s.cfg.Slack.APIURL}
			if err := s.slack.RunSocketMode(socketCtx, socket); err != nil && socketCtx.Err() == nil {
				s.log.Error("slack socket mode stopped", "err", err)
			}
		}()
	} else {
		close(socketDone)
	}
	attrs := []any{"addr", ln.Addr().String(), "store", s.cfg.Storage.Driver, "rules", len(s.cur.Load().rules.Rules())}
	if pub != nil {
		attrs = append(attrs, "public_addr", pub.Addr().String())
	}
	s.log.Info("warroom listening", attrs...)

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		s.log.Info("shutting down")
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	shutErr := srv.Shutdown(shutCtx)
	if pubSrv != nil {
		shutErr = errors.Join(shutErr, pubSrv.Shutdown(shutCtx))
	}
	cancel()
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		err = shutErr
	}
	stopSocket()
	<-socketDone
	s.slack.Drain()
	stopWorker()
	<-workerDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ShutdownGrace bounds how long in-flight requests may take at shutdown.
const ShutdownGrace = 10 * time.Second

// Close releases the store and the dry-run log, and sends the spans
// still batched.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := errors.Join(s.store.Close(), s.tracing.Shutdown(ctx))
	if s.dryRun != nil {
		err = errors.Join(err, s.dryRun.Close())
	}
	return err
}

// httpClient is a client for calls to api, counted, timed and traced.
func (s *Server) httpClient(api string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: s.transport(api)}
}

// transport counts, times and traces the calls to api.
func (s *Server) transport(api string) http.RoundTripper {
	return s.telem.Transport(api, http.DefaultTransport, s.tracing.Tracer())
}

func archiveAfter(cfg *config.Config) time.Duration {
	if cfg.Slack.ArchiveAfter == nil {
		return config.DefaultArchiveAfter
	}
	return cfg.Slack.ArchiveAfter.Duration()
}
