// Package slackbot is the Slack side of warroom's surface: it verifies
// Slack's requests (v0 signatures, a five-minute window, retries answered
// once, replays refused), runs the /warroom slash commands and the
// summary's buttons with the permissions of slack.permissions, and takes
// both over HTTP or Socket Mode. It changes incidents only through
// incident.Service, reads through a small Store, and takes what else it
// needs (silences, the rate now) as Deps from the composition root: it
// imports no executor and no client of an outside system.
package slackbot

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// Directory answers who belongs to a Slack user group (by handle,
// without "@").
type Directory interface {
	UserGroupMembers(ctx context.Context, handle string) ([]string, error)
}

// Store is what the Slack surface reads.
type Store interface {
	Incident(ctx context.Context, id string) (*incident.Incident, error)
	Incidents(ctx context.Context, f incident.Filter) ([]*incident.Incident, error)
	IncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error)
	Alerts(ctx context.Context, incidentID string, limit int) ([]incident.Alert, error)
	CountAlerts(ctx context.Context, incidentID string) (total, firing int, err error)
	Timeline(ctx context.Context, incidentID string) ([]incident.Event, error)
	Jobs(ctx context.Context, incidentID string) ([]incident.JobStatus, error)
	Deploys(ctx context.Context, f incident.DeployFilter) ([]incident.Deploy, error)
}

// Silencer silences an incident's alerts in Alertmanager for d, asked for
// by user, and returns what it put on the timeline.
type Silencer interface {
	Silence(ctx context.Context, inc *incident.Incident, user string, d time.Duration) (string, error)
}

// Deps are what the Slack surface takes from the composition root.
type Deps struct {
	// Service changes incidents: every command and button goes through it.
	Service *incident.Service
	Store   Store
	// Settings returns the settings in force. A reload of the
	// configuration swaps them; a command or a button press reads them
	// once, when it starts, and keeps them to its end.
	Settings func() *Settings
	// SigningSecret verifies Slack's requests (slack.signing_secret);
	// without it the HTTP endpoints answer 503.
	SigningSecret string
	Log           *slog.Logger
	Now           func() time.Time
}

// Settings are what the Slack surface takes from the configuration that
// a reload replaces: never changed once handed over.
type Settings struct {
	// Rules say whether an incident's rule has a rollback webhook.
	Rules *rules.Set
	// Hosts are the hosts deploy links may point at.
	Hosts render.Hosts
	// Permissions is slack.permissions: who may do which /warroom action
	// (see config.PermissionActions); Directory resolves the user groups
	// it names, and may be nil (then no group member is allowed).
	Permissions map[string][]string
	Directory   Directory
	Silencer    Silencer
	// ValueNow asks Prometheus for an incident's value now (ok false when
	// it cannot be told), for the answer to /warroom resolve.
	ValueNow func(ctx context.Context, inc *incident.Incident) (v float64, ok bool, err error)
}

// Static returns a Settings func of fixed settings: a surface whose
// configuration is never reloaded.
func Static(st Settings) func() *Settings { return func() *Settings { return &st } }

// Surface is the Slack side of the bot: the verification of Slack's
// requests, the answers already given (for retries), the user-group
// memberships that permissions name, and the client that answers through
// response_url. Both transports, HTTP and Socket Mode, go through it.
type Surface struct {
	svc   *incident.Service
	store Store
	live  func() *Settings
	log   *slog.Logger

	secret  string
	answers *answerCache
	groups  *groupCache
	client  *http.Client
	// responsePrefix is the only prefix a response_url may have; tests
	// point it at an httptest server.
	responsePrefix string
	now            func() time.Time
	// pending counts the response_url posts in flight.
	pending sync.WaitGroup
}

// New returns the Slack surface of d.
func New(d Deps) *Surface {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Surface{
		svc: d.Service, store: d.Store, live: d.Settings, log: log,
		secret:  d.SigningSecret,
		answers: newAnswerCache(slackAnswerTTL, slackMaxAnswers, now),
		groups:  &groupCache{ttl: slackGroupTTL, now: now, m: map[string]groupEntry{}},
		client: &http.Client{
			Timeout: slackResponseTimeout,
			// A redirect could lead the post away from Slack.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		responsePrefix: slackResponseURLPrefix,
		now:            now,
	}
}

// settingsKey keys the settings a command or a button press started with
// in its context.
type settingsKey struct{}

// begin pins the settings in force to ctx: a request that straddles a
// reload runs to its end under the settings it started with.
func (sl *Surface) begin(ctx context.Context) context.Context {
	return context.WithValue(ctx, settingsKey{}, sl.live())
}

// settings are the settings ctx's request started with (see begin), or
// those in force.
func (sl *Surface) settings(ctx context.Context) *Settings {
	if st, ok := ctx.Value(settingsKey{}).(*Settings); ok {
		return st
	}
	return sl.live()
}

// Paths are Slack's HTTP endpoints: they check Slack's signatures, not
// the webhook credentials or the loopback guard.
func Paths() []string { return []string{"/slack/commands", "/slack/interactions"} }

// Routes adds Slack's endpoints to mux. Without a signing secret (or with
// Socket Mode only) they answer 503.
func (sl *Surface) Routes(mux *http.ServeMux) {
	mux.Handle("POST /slack/commands", sl.endpoint("command",
		func(ctx context.Context, form url.Values) slackAnswer { return sl.commandRequest(ctx, form) }))
	mux.Handle("POST /slack/interactions", sl.endpoint("interaction",
		func(ctx context.Context, form url.Values) slackAnswer { return sl.interactionRequest(ctx, form) }))
}
