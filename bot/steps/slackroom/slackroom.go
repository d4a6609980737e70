// Package slackroom runs the Slack steps of a war room: create (or adopt)
// the channel, set its topic, invite the responders, post and pin the
// summary, bookmark the links, announce it, keep it up to date and archive
// it. Each step is safe to run twice: it looks for what an earlier attempt
// made before it makes it. What it makes is the step's plan
// (steps.Planner), sent through the typed client exactly as planned.
package slackroom

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
)

// Executor runs the Slack steps of a war room (docs/ARCHITECTURE.md, the steps), each safe
// to run twice.
type Executor struct {
	client *islack.Client
	d      steps.Deps
	p      steps.Planner

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
		incident.JobSlackArchive, incident.JobSlackUpdateTopic, incident.JobSlackNudge, incident.JobSlackPostmortem,
	}
}

// New returns the Slack executor.
func New(client *islack.Client, d steps.Deps, opts steps.SlackOptions) *Executor {
	return &Executor{client: client, d: d, p: steps.Planner{Deps: d, Slack: opts}, channels: map[string]string{}, marked: map[string]string{}}
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
		err = x.pin(ctx, inc)
	case incident.JobSlackBookmarks:
		err = x.bookmarks(ctx, inc)
	case incident.JobSlackAnnounce:
		err = x.announce(ctx, inc)
	case incident.JobSlackUpdate:
		err = x.update(ctx, inc)
	case incident.JobSlackArchive:
		err = x.archive(ctx, inc, j)
	case incident.JobSlackUpdateTopic:
		err = x.updateTopic(ctx, inc)
	case incident.JobSlackNudge:
		err = x.nudge(ctx, inc, j)
	case incident.JobSlackPostmortem:
		err = x.postmortem(ctx, inc, j)
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

// pin pins the summary. The step is queued once the summary is posted,
// so a war room without its channel or summary lost them for good.
func (x *Executor) pin(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID == "" || inc.SummaryTS == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel or summary", inc.ID))
	}
	_, err := x.send(ctx, x.p.Pin(inc))
	return err
}

// sent is what a call made: the channel it created or posted to, and the
// ts of the message it posted.
type sent struct {
	channel islack.Channel
	ts      string
}

// send makes one planned call through the client, as planned.
func (x *Executor) send(ctx context.Context, c steps.Call) (sent, error) {
	switch a := c.Args.(type) {
	case steps.SlackCreateChannel:
		ch, err := x.client.CreateChannel(ctx, a.Name, a.IsPrivate)
		return sent{channel: ch}, err
	case steps.SlackSetTopic:
		return sent{}, x.client.SetTopic(ctx, a.Channel, a.Topic)
	case steps.SlackSetPurpose:
		return sent{}, x.client.SetPurpose(ctx, a.Channel, a.Purpose)
	case steps.SlackInvite:
		return sent{}, x.client.Invite(ctx, a.Channel, a.Users)
	case steps.SlackPost:
		ch, ts, err := x.client.Post(ctx, a.Channel, message(a.Text, a.Blocks, a.Metadata))
		return sent{channel: islack.Channel{ID: ch}, ts: ts}, err
	case steps.SlackUpdate:
		return sent{}, x.client.Update(ctx, a.Channel, a.TS, message(a.Text, a.Blocks, a.Metadata))
	case steps.SlackPin:
		return sent{}, x.client.Pin(ctx, a.Channel, a.Timestamp)
	case steps.SlackBookmark:
		if a.Type != "link" {
			break
		}
		return sent{}, x.client.AddBookmark(ctx, a.ChannelID, a.Title, a.Link)
	case steps.SlackArchive:
		return sent{}, x.client.Archive(ctx, a.Channel)
	case steps.SlackUploadFile:
		_, err := x.client.UploadFile(ctx, islack.Upload{Channel: a.ChannelID, Filename: a.Filename, Title: a.Title,
			Comment: a.InitialComment, Content: []byte(a.Content)})
		return sent{}, err
	}
	return sent{}, incident.Permanent(fmt.Errorf("slack: cannot send %s %T", c.Method, c.Args))
}

// sendAll sends calls in order, stopping at the first failure.
func (x *Executor) sendAll(ctx context.Context, calls []steps.Call) error {
	for _, c := range calls {
		if _, err := x.send(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func message(text string, blocks []slack.Block, meta steps.SlackMetadata) islack.Message {
	return islack.Message{Text: text, Blocks: blocks, Kind: meta.EventType, Key: meta.Key()}
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
	for range maxChannelTries {
		s, err := x.send(ctx, x.p.CreateChannel(inc))
		if err == nil {
			return x.recordChannel(ctx, inc.ID, s.channel, "war room #"+s.channel.Name+" created")
		}
		if islack.ErrorCode(err) != "name_taken" {
			return err
		}
		ours, ch, err := x.ownChannel(ctx, inc, inc.SlackChannel)
		if err != nil {
			return err
		}
		if ours {
			return x.recordChannel(ctx, inc.ID, ch, "war room #"+ch.Name+" adopted (made by an earlier attempt)")
		}
		if inc, err = x.d.Service.RenameChannel(ctx, inc.ID, "#"+inc.SlackChannel+" is taken"); err != nil {
			return err
		}
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
	return x.sendAll(ctx, x.p.Topic(inc))
}

// updateTopic sets the topic as the incident is now, unless the channel
// has it already: an earlier run set it, or the opening's topic step
// rendered the change. A war room whose channel never came gives up
// quietly: the create's own failure says why.
func (x *Executor) updateTopic(ctx context.Context, inc *incident.Incident) error {
	if !inc.WarRoom {
		return nil
	}
	if inc.SlackChannelID == "" {
		return steps.AwaitNeed(ctx, x.d, incident.JobSlackUpdateTopic, inc, false)
	}
	c := x.p.UpdateTopic(inc)
	ch, err := x.client.ChannelInfo(ctx, inc.SlackChannelID)
	if err != nil {
		return err
	}
	if a, ok := c.Args.(steps.SlackSetTopic); ok && ch.Topic == a.Topic {
		return nil
	}
	_, err = x.send(ctx, c)
	return err
}

// view gathers what the summary shows.
func (x *Executor) view(ctx context.Context, inc *incident.Incident) (slackmsg.SummaryView, steps.Facts, error) {
	f, err := x.d.Facts(ctx, inc, math.MaxInt64)
	if err != nil {
		return slackmsg.SummaryView{}, f, err
	}
	return x.d.SlackView(inc, f), f, nil
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
	v, f, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	tl := f.Timeline
	// Only a run after one that may have reached Slack can find a message
	// of an earlier run; the job's state says whether there was one.
	var ts string
	var found bool
	if !j.FirstRun() {
		if ts, found, err = x.client.FindMessage(ctx, inc.SlackChannelID, steps.MetaSummary, inc.ID); err != nil {
			return err
		}
	}
	if !found {
		c, err := x.p.PostSummary(inc, v)
		if err != nil {
			return err
		}
		s, err := x.send(ctx, c)
		if err != nil {
			return err
		}
		ts = s.ts
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
	v, _, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	have, sig, err := x.bookmarked(ctx, inc, v.Links)
	if err != nil {
		return err
	}
	if err := x.sendAll(ctx, x.p.Bookmarks(inc, v.Links, have)); err != nil {
		return err
	}
	x.mark(inc, sig)
	return nil
}

// bookmarked returns which of the war room's links it has bookmarked,
// listed (so that a repeat adds nothing) unless this process already
// made sure of these very links, and the links' signature for mark.
func (x *Executor) bookmarked(ctx context.Context, inc *incident.Incident, links []render.Link) (map[string]bool, string, error) {
	want := steps.BookmarkLinks(links)
	var sig strings.Builder
	for _, l := range want {
		sig.WriteString(l.URL + "\n")
	}
	have := make(map[string]bool, len(want))
	x.mu.Lock()
	same := x.marked[inc.ID] == sig.String()
	x.mu.Unlock()
	if same || len(want) == 0 {
		for _, l := range want {
			have[l.URL] = true
		}
		return have, sig.String(), nil
	}
	listed, err := x.client.Bookmarks(ctx, inc.SlackChannelID)
	if err != nil {
		return nil, "", err
	}
	for link := range listed {
		have[link] = true
	}
	return have, sig.String(), nil
}

// mark remembers that the war room has the links of signature sig.
func (x *Executor) mark(inc *incident.Incident, sig string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.marked) > maxCachedRooms {
		clear(x.marked)
	}
	x.marked[inc.ID] = sig
}

// maxCachedRooms bounds the bookmark memory; past it, it starts again.
const maxCachedRooms = 10000

// announceChannel resolves the announce channel of an incident's rule (or
// the config's) to an ID; "" when there is none.
func (x *Executor) announceChannel(ctx context.Context, inc *incident.Incident) (string, error) {
	name := x.p.AnnounceChannel(inc)
	if name == "" || steps.IsChannelID(name) {
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

// IsChannelID reports whether s is a Slack conversation ID rather than a
// channel name.
func IsChannelID(s string) bool { return steps.IsChannelID(s) }

func (x *Executor) announce(ctx context.Context, inc *incident.Incident) error {
	if inc.AnnounceTS != "" {
		return nil
	}
	ch, err := x.announceChannel(ctx, inc)
	if err != nil || ch == "" {
		return err
	}
	ts, found, err := x.client.FindMessage(ctx, ch, steps.MetaAnnounce, inc.ID)
	if err != nil {
		return err
	}
	if !found {
		s, err := x.send(ctx, x.p.Announce(inc, ch))
		if err != nil {
			return err
		}
		ch, ts = s.channel.ID, s.ts
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.AnnounceChannelID, inc.AnnounceTS = ch, ts
		return "", nil
	})
	return err
}
