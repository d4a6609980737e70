package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/render/slackmsg"

	"github.com/warroom/warroom/bot/render"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/rules"
)

// Metadata kinds of the messages warroom posts: a repeat of a step looks
// for its kind and key in the channel before posting again.
const (
	metaSummary  = "warroom_summary"
	metaAnnounce = "warroom_announce"
	metaChange   = "warroom_change"
)

// SlackExecutor runs the Slack steps of a war room (DESIGN.md §12), each
// safe to run twice, and hands every other step to next.
type SlackExecutor struct {
	client *islack.Client
	store  incident.Store
	svc    *incident.Service
	cfg    *config.Config
	rules  *rules.Set
	next   incident.Executor
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	channels map[string]string // announce channel name → ID
	// marked holds, per incident, the bookmark links last made sure of,
	// so that an update lists the channel's bookmarks only when a new
	// link (the ticket, a board from late evidence) appeared.
	marked map[string]string
}

var _ incident.Executor = (*SlackExecutor)(nil)

// NewSlackExecutor returns the Slack executor; next runs the other steps.
func NewSlackExecutor(client *islack.Client, store incident.Store, svc *incident.Service, cfg *config.Config, set *rules.Set,
	next incident.Executor, log *slog.Logger, now func() time.Time) *SlackExecutor {
	return &SlackExecutor{client: client, store: store, svc: svc, cfg: cfg, rules: set, next: next, log: log, now: now,
		channels: map[string]string{}, marked: map[string]string{}}
}

// Execute implements incident.Executor.
func (x *SlackExecutor) Execute(ctx context.Context, j incident.Job) error {
	if !strings.HasPrefix(string(j.Kind), "slack.") {
		return x.next.Execute(ctx, j)
	}
	inc, err := jobIncident(ctx, x.store, j)
	if err != nil {
		return err
	}
	switch j.Kind {
	case incident.JobSlackCreateChannel:
		err = x.createChannel(ctx, inc)
	case incident.JobSlackSetTopic:
		err = x.setTopic(ctx, inc)
	case incident.JobSlackInvite:
		err = x.invite(ctx, inc)
	case incident.JobSlackPostSummary:
		err = x.postSummary(ctx, inc, j)
	case incident.JobSlackPinSummary:
		err = x.needChannel(inc, func() error { return x.client.Pin(ctx, inc.SlackChannelID, inc.SummaryTS) })
	case incident.JobSlackBookmarks:
		err = x.bookmarks(ctx, inc)
	case incident.JobSlackAnnounce:
		err = x.announce(ctx, inc)
	case incident.JobSlackUpdate:
		err = x.update(ctx, inc)
	case incident.JobSlackArchive:
		err = x.archive(ctx, inc, j)
	default:
		return incident.Permanent(fmt.Errorf("no Slack step %s", j.Kind))
	}
	return slackOutcome(err)
}

// slackOutcome maps a Slack failure to what the job does next: wait for
// Retry-After without spending an attempt, give up (bad token, refused
// payload), or retry with backoff (5xx, network).
func slackOutcome(err error) error {
	if err == nil {
		return nil
	}
	if wait, ok := islack.RetryAfter(err); ok {
		if wait <= 0 {
			wait = time.Second
		}
		return &incident.SnoozeError{Wait: wait, Err: err}
	}
	if islack.Permanent(err) || incident.IsPermanent(err) {
		return incident.Permanent(err)
	}
	return err
}

// needChannel runs fn once the war room and its summary exist; a step
// queued after them finds them, so their absence means they failed.
func (x *SlackExecutor) needChannel(inc *incident.Incident, fn func() error) error {
	if inc.SlackChannelID == "" || inc.SummaryTS == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel or summary", inc.ID))
	}
	return fn()
}

// maxChannelTries bounds how many names a war room tries when each one is
// taken by a channel that is not its own.
const maxChannelTries = 5

// createChannel creates the reserved channel. When the name is taken by a
// channel this bot created and no other incident holds, an earlier attempt
// made it (and crashed before storing it): adopt it. A name taken by
// anyone else makes the incident reserve the next number.
func (x *SlackExecutor) createChannel(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID != "" {
		return nil
	}
	name := inc.SlackChannel
	for range maxChannelTries {
		ch, err := x.client.CreateChannel(ctx, name, x.cfg.Slack.PrivateChannels)
		if err == nil {
			return x.recordChannel(ctx, inc.ID, ch, "war room #"+ch.Name+" created")
		}
		if islack.ErrorCode(err) != "name_taken" {
			return err
		}
		ours, ch, err := x.ownChannel(ctx, inc, name)
		if err != nil {
			return err
		}
		if ours {
			return x.recordChannel(ctx, inc.ID, ch, "war room #"+ch.Name+" adopted (made by an earlier attempt)")
		}
		next, err := x.svc.RenameChannel(ctx, inc.ID, "#"+name+" is taken")
		if err != nil {
			return err
		}
		name = next.SlackChannel
	}
	return incident.Permanent(fmt.Errorf("conversations.create: %d channel names in a row were taken", maxChannelTries))
}

// ownChannel finds the channel that holds name and says whether it is
// this incident's: made by this bot, not archived, and no other
// incident's war room.
func (x *SlackExecutor) ownChannel(ctx context.Context, inc *incident.Incident, name string) (bool, islack.Channel, error) {
	ch, found, err := x.client.FindChannel(ctx, name)
	if err != nil || !found {
		return false, ch, err
	}
	bot, err := x.client.BotUser(ctx)
	if err != nil {
		return false, ch, err
	}
	if ch.Creator != bot || ch.Archived {
		return false, ch, nil
	}
	other, err := x.store.IncidentByChannel(ctx, ch.ID)
	switch {
	case incident.ErrorCode(err) == incident.ENOTFOUND:
		return true, ch, nil
	case err != nil:
		return false, ch, err
	}
	return other.ID == inc.ID, ch, nil
}

func (x *SlackExecutor) recordChannel(ctx context.Context, id string, ch islack.Channel, text string) error {
	_, err := x.svc.RecordStep(ctx, id, func(inc *incident.Incident) (string, error) {
		inc.SlackChannelID, inc.SlackChannel = ch.ID, ch.Name
		return text, nil
	})
	return err
}

func (x *SlackExecutor) setTopic(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	if err := x.client.SetTopic(ctx, inc.SlackChannelID, slackmsg.Topic(inc)); err != nil {
		return err
	}
	return x.client.SetPurpose(ctx, inc.SlackChannelID, render.OneLine("War room for "+inc.ID+": "+inc.Title, 250))
}

// view gathers what the summary shows.
func (x *SlackExecutor) view(ctx context.Context, inc *incident.Incident) (slackmsg.SummaryView, error) {
	alerts, err := x.store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return slackmsg.SummaryView{}, err
	}
	total, firing, err := x.store.CountAlerts(ctx, inc.ID)
	if err != nil {
		return slackmsg.SummaryView{}, err
	}
	start := render.AlertStart(inc, alerts)
	// Links from alert content and deploy records point only at allowed
	// hosts; the summary, its bookmarks and the rollback text agree.
	hosts := linkHosts(x.cfg)
	inc = hosts.Incident(inc)
	return slackmsg.SummaryView{Incident: inc, Alerts: alerts, TotalAlerts: total, FiringAlerts: firing,
		Links:    hosts.Links(append(warRoomLinks(x.cfg, x.rules, inc, alerts, x.log), render.EvidenceLinks(inc.Evidence)...)),
		Rollback: slackmsg.RollbackText(inc.Evidence, start), Now: x.now(), Start: start}, nil
}

// warRoomLinks are the links known for an incident: the Jira ticket, the
// alerts in Alertmanager, the query that fired, and the rule's runbook.
// Grafana and Jaeger links come with correlation.
func warRoomLinks(cfg *config.Config, set *rules.Set, inc *incident.Incident, alerts []incident.Alert, log *slog.Logger) []render.Link {
	var links []render.Link
	if inc.JiraKey != "" && cfg.Jira.URL != "" {
		links = append(links, render.Link{Kind: "jira", Title: "Jira " + inc.JiraKey, URL: strings.TrimSuffix(cfg.Jira.URL, "/") + "/browse/" + inc.JiraKey})
	}
	if am := strings.TrimSuffix(cfg.Alertmanager.URL, "/"); am != "" && inc.Service != "" {
		filter := fmt.Sprintf("{service=%q}", inc.Service)
		if inc.Env != "" {
			filter = fmt.Sprintf("{service=%q,env=%q}", inc.Service, inc.Env)
		}
		links = append(links, render.Link{Kind: "alertmanager", Title: "Alertmanager", URL: am + "/#/alerts?filter=" + url.QueryEscape(filter)})
	}
	if len(alerts) > 0 && (strings.HasPrefix(alerts[0].GeneratorURL, "https://") || strings.HasPrefix(alerts[0].GeneratorURL, "http://")) {
		links = append(links, render.Link{Kind: "prometheus", Title: "Alert query", URL: alerts[0].GeneratorURL})
	}
	if r, ok := set.Lookup(inc.Rule); ok && r.Runbook != "" && len(alerts) > 0 {
		a := alerts[0]
		url, err := rules.Render(r.Runbook, rules.TemplateData{Labels: a.Labels, Annotations: a.Annotations,
			Service: inc.Service, Env: inc.Env, Rule: inc.Rule, Severity: string(inc.Severity), IncidentID: inc.ID, StartsAt: a.StartsAt})
		switch {
		case err != nil:
			log.Warn("runbook template", "rule", inc.Rule, "err", err)
		case strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://"):
			links = append(links, render.Link{Kind: "runbook", Title: "Runbook", URL: url})
		}
	}
	return links
}

func (x *SlackExecutor) message(ctx context.Context, inc *incident.Incident) (islack.Message, error) {
	v, err := x.view(ctx, inc)
	if err != nil {
		return islack.Message{}, err
	}
	return x.render(inc, v)
}

// render makes the summary message of a view.
func (x *SlackExecutor) render(inc *incident.Incident, v slackmsg.SummaryView) (islack.Message, error) {
	blocks := slackmsg.SummaryBlocks(v)
	if err := slackmsg.ValidateBlocks(blocks); err != nil {
		return islack.Message{}, incident.Permanent(fmt.Errorf("summary of %s: %w", inc.ID, err))
	}
	return islack.Message{Text: slackmsg.SummaryFallback(v), Blocks: blocks, Kind: metaSummary, Key: inc.ID}, nil
}

// postSummary posts the summary once: a repeat finds the message by its
// metadata. The events so far are in it, so later updates tell only what
// changes after.
func (x *SlackExecutor) postSummary(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	if inc.SummaryTS != "" {
		return nil
	}
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	inc, err := waitForEvidence(ctx, x.store, x.cfg, inc, x.now)
	if err != nil {
		return err
	}
	tl, err := x.store.Timeline(ctx, inc.ID)
	if err != nil {
		return err
	}
	// Only a run after one that may have reached Slack can find a message
	// of an earlier run; the job's state says whether there was one.
	var ts string
	var found bool
	if !j.FirstRun() {
		if ts, found, err = x.client.FindMessage(ctx, inc.SlackChannelID, metaSummary, inc.ID); err != nil {
			return err
		}
	}
	if !found {
		m, err := x.message(ctx, inc)
		if err != nil {
			return err
		}
		if _, ts, err = x.client.Post(ctx, inc.SlackChannelID, m); err != nil {
			return err
		}
	}
	_, err = x.svc.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.SummaryTS = ts
		if len(tl) > 0 && tl[len(tl)-1].ID > inc.ReportedEvent {
			inc.ReportedEvent = tl[len(tl)-1].ID
		}
		return "", nil
	})
	return err
}

func (x *SlackExecutor) bookmarks(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	v, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	return x.syncBookmarks(ctx, inc, v.Links)
}

// syncBookmarks adds the bookmarks the war room lacks (listed first, so
// that a repeat adds nothing), unless this process already made sure of
// these very links.
func (x *SlackExecutor) syncBookmarks(ctx context.Context, inc *incident.Incident, links []render.Link) error {
	want := bookmarkLinks(links)
	var sig strings.Builder
	for _, l := range want {
		sig.WriteString(l.URL + "\n")
	}
	x.mu.Lock()
	same := x.marked[inc.ID] == sig.String()
	x.mu.Unlock()
	if same || len(want) == 0 {
		return nil
	}
	have, err := x.client.Bookmarks(ctx, inc.SlackChannelID)
	if err != nil {
		return err
	}
	for _, l := range want {
		if _, ok := have[l.URL]; ok {
			continue
		}
		if err := x.client.AddBookmark(ctx, inc.SlackChannelID, l.Title, l.URL); err != nil {
			return err
		}
	}
	x.mu.Lock()
	if len(x.marked) > maxCachedRooms {
		clear(x.marked)
	}
	x.marked[inc.ID] = sig.String()
	x.mu.Unlock()
	return nil
}

// maxCachedRooms bounds the bookmark memory; past it, it starts again.
const maxCachedRooms = 10000

// bookmarked are the kinds of links a war room bookmarks (DESIGN.md §5),
// the first of each: the rest are in the summary.
var bookmarked = []string{"jira", "grafana", "jaeger", "runbook"}

func bookmarkLinks(links []render.Link) []render.Link {
	var out []render.Link
	for _, kind := range bookmarked {
		for _, l := range links {
			if l.Kind == kind && l.URL != "" {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// announceChannel resolves the announce channel of an incident's rule (or
// the config's) to an ID; "" when there is none.
func (x *SlackExecutor) announceChannel(ctx context.Context, inc *incident.Incident) (string, error) {
	name := x.cfg.Slack.AnnounceChannel
	if r, ok := x.rules.Lookup(inc.Rule); ok && r.AnnounceChannel != "" {
		name = r.AnnounceChannel
	}
	name = strings.TrimPrefix(name, "#")
	if name == "" || channelID.MatchString(name) {
		return name, nil
	}
	x.mu.Lock()
	id, ok := x.channels[name]
	x.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, found, err := x.client.FindChannel(ctx, name)
	if err != nil {
		return "", err
	}
	if !found {
		return "", incident.Permanent(fmt.Errorf("announce channel #%s not found (or the bot cannot see it)", name))
	}
	x.mu.Lock()
	x.channels[name] = ch.ID
	x.mu.Unlock()
	return ch.ID, nil
}

// channelID matches Slack conversation IDs.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

func (x *SlackExecutor) announce(ctx context.Context, inc *incident.Incident) error {
	if inc.AnnounceTS != "" {
		return nil
	}
	ch, err := x.announceChannel(ctx, inc)
	if err != nil || ch == "" {
		return err
	}
	m := islack.Message{Text: slackmsg.AnnounceText(inc, inc.SlackChannelID), Kind: metaAnnounce, Key: inc.ID}
	ts, found, err := x.client.FindMessage(ctx, ch, metaAnnounce, inc.ID)
	if err != nil {
		return err
	}
	if !found {
		if ch, ts, err = x.client.Post(ctx, ch, m); err != nil {
			return err
		}
	}
	_, err = x.svc.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.AnnounceChannelID, inc.AnnounceTS = ch, ts
		return "", nil
	})
	return err
}
