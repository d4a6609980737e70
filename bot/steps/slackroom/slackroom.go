// Package slackroom runs the Slack steps of a war room: create (or adopt)
// the channel, set its topic, invite the responders, post and pin the
// summary, bookmark the links, announce it, keep it up to date and archive
// it. Each step is safe to run twice: it looks for what an earlier attempt
// made before it makes it.
package slackroom

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
)

// Metadata kinds of the messages warroom posts: a repeat of a step looks
// for its kind and key in the channel before posting again.
const (
	metaSummary  = "warroom_summary"
	metaAnnounce = "warroom_announce"
	metaChange   = "warroom_change"
)

// Executor runs the Slack steps of a war room (docs/ARCHITECTURE.md, the steps), each safe
// to run twice.
type Executor struct {
	client *islack.Client
	d      steps.Deps
	opts   steps.SlackOptions

	mu       sync.Mutex
	channels map[string]string // announce channel name → ID
	// marked holds, per incident, the bookmark links last made sure of,
	// so that an update lists the channel's bookmarks only when a new
	// link (the ticket, a board from late evidence) appeared.
	marked map[string]string
}

var _ incident.Executor = (*Executor)(nil)

// Kinds are the steps the Slack executor runs (or the dry run in its
// place).
func Kinds() []incident.JobKind {
	return []incident.JobKind{
		incident.JobSlackCreateChannel, incident.JobSlackSetTopic, incident.JobSlackInvite, incident.JobSlackPostSummary,
		incident.JobSlackPinSummary, incident.JobSlackBookmarks, incident.JobSlackAnnounce, incident.JobSlackUpdate,
		incident.JobSlackArchive,
	}
}

// New returns the Slack executor.
func New(client *islack.Client, d steps.Deps, opts steps.SlackOptions) *Executor {
	return &Executor{client: client, d: d, opts: opts, channels: map[string]string{}, marked: map[string]string{}}
}

// Execute implements incident.Executor.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	inc, err := steps.Incident(ctx, x.d.Store, j)
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
func (x *Executor) needChannel(inc *incident.Incident, fn func() error) error {
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
func (x *Executor) createChannel(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID != "" {
		return nil
	}
	name := inc.SlackChannel
	for range maxChannelTries {
		ch, err := x.client.CreateChannel(ctx, name, x.opts.PrivateChannels)
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
		next, err := x.d.Service.RenameChannel(ctx, inc.ID, "#"+name+" is taken")
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
func (x *Executor) ownChannel(ctx context.Context, inc *incident.Incident, name string) (bool, islack.Channel, error) {
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
	other, err := x.d.Store.IncidentByChannel(ctx, ch.ID)
	switch {
	case incident.ErrorCode(err) == incident.ENOTFOUND:
		return true, ch, nil
	case err != nil:
		return false, ch, err
	}
	return other.ID == inc.ID, ch, nil
}

func (x *Executor) recordChannel(ctx context.Context, id string, ch islack.Channel, text string) error {
	_, err := x.d.Service.RecordStep(ctx, id, func(inc *incident.Incident) (string, error) {
		inc.SlackChannelID, inc.SlackChannel = ch.ID, ch.Name
		return text, nil
	})
	return err
}

func (x *Executor) setTopic(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	if err := x.client.SetTopic(ctx, inc.SlackChannelID, slackmsg.Topic(inc)); err != nil {
		return err
	}
	return x.client.SetPurpose(ctx, inc.SlackChannelID, render.OneLine("War room for "+inc.ID+": "+inc.Title, 250))
}

// view gathers what the summary shows.
func (x *Executor) view(ctx context.Context, inc *incident.Incident) (slackmsg.SummaryView, error) {
	alerts, err := x.d.Store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return slackmsg.SummaryView{}, err
	}
	total, firing, err := x.d.Store.CountAlerts(ctx, inc.ID)
	if err != nil {
		return slackmsg.SummaryView{}, err
	}
	start := render.AlertStart(inc, alerts)
	// Links from alert content and deploy records point only at allowed
	// hosts; the summary, its bookmarks and the rollback text agree.
	hosts := x.d.Hosts
	inc = hosts.Incident(inc)
	return slackmsg.SummaryView{Incident: inc, Alerts: alerts, TotalAlerts: total, FiringAlerts: firing,
		Links:    hosts.Links(append(x.d.WarRoomLinks(inc, alerts), render.EvidenceLinks(inc.Evidence)...)),
		Rollback: slackmsg.RollbackText(inc.Evidence, start), Now: x.d.Now(), Start: start}, nil
}

func (x *Executor) message(ctx context.Context, inc *incident.Incident) (islack.Message, error) {
	v, err := x.view(ctx, inc)
	if err != nil {
		return islack.Message{}, err
	}
	return x.render(inc, v)
}

// render makes the summary message of a view.
func (x *Executor) render(inc *incident.Incident, v slackmsg.SummaryView) (islack.Message, error) {
	blocks := slackmsg.SummaryBlocks(v)
	if err := slackmsg.ValidateBlocks(blocks); err != nil {
		return islack.Message{}, incident.Permanent(fmt.Errorf("summary of %s: %w", inc.ID, err))
	}
	return islack.Message{Text: slackmsg.SummaryFallback(v), Blocks: blocks, Kind: metaSummary, Key: inc.ID}, nil
}

// postSummary posts the summary once: a repeat finds the message by its
// metadata. The events so far are in it, so later updates tell only what
// changes after.
func (x *Executor) postSummary(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	if inc.SummaryTS != "" {
		return nil
	}
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	if err := steps.WaitForEvidence(inc, x.d.EvidenceBudget, x.d.Now()); err != nil {
		return err
	}
	tl, err := x.d.Store.Timeline(ctx, inc.ID)
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
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.SummaryTS = ts
		if len(tl) > 0 && tl[len(tl)-1].ID > inc.ReportedEvent {
			inc.ReportedEvent = tl[len(tl)-1].ID
		}
		return "", nil
	})
	return err
}

func (x *Executor) bookmarks(ctx context.Context, inc *incident.Incident) error {
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
func (x *Executor) syncBookmarks(ctx context.Context, inc *incident.Incident, links []render.Link) error {
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

// bookmarked are the kinds of links a war room bookmarks (README, Connect to Slack),
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
func (x *Executor) announceChannel(ctx context.Context, inc *incident.Incident) (string, error) {
	name := x.opts.AnnounceChannel
	if r, ok := x.d.Rules.Lookup(inc.Rule); ok && r.AnnounceChannel != "" {
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

// IsChannelID reports whether s is a Slack conversation ID rather than a
// channel name.
func IsChannelID(s string) bool { return channelID.MatchString(s) }

func (x *Executor) announce(ctx context.Context, inc *incident.Incident) error {
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
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.AnnounceChannelID, inc.AnnounceTS = ch, ts
		return "", nil
	})
	return err
}
