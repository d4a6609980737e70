package slackbot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// slackMessage is a reply to Slack: the answer to a slash command (HTTP
// body or Socket Mode ack payload), or an ephemeral note posted to a
// response_url.
type slackMessage struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func cmdEphemeral(format string, args ...any) slackMessage {
	return slackMessage{ResponseType: slack.ResponseTypeEphemeral, Text: fmt.Sprintf(format, args...)}
}

func cmdInChannel(format string, args ...any) slackMessage {
	return slackMessage{ResponseType: slack.ResponseTypeInChannel, Text: fmt.Sprintf(format, args...)}
}

// Limits of what responders type.
const (
	// maxSlackText bounds a note or a resolve summary.
	maxSlackText = 2000
	// maxListed bounds the war rooms `list` shows.
	maxListed = 20
	// maxTimelineText bounds `timeline`'s reply; Slack truncates long
	// messages (https://api.slack.com/methods/chat.postMessage#truncating).
	maxTimelineText = 3500
)

// incidentArg says whether a subcommand acts on an incident.
type incidentArg int

const (
	noIncident       incidentArg = iota
	needsIncident                // implied in a war room, else the first argument
	optionalIncident             // implied in a war room, else an optional first argument
)

// subcommand is one /warroom subcommand. Its name is also its action in
// slack.permissions.
type subcommand struct {
	name     string
	args     string // the arguments in the usage line
	about    string
	incident incidentArg
	run      func(sl *Surface, ctx context.Context, c *cmdCall) (slackMessage, error)
}

// cmdCall is one invocation being run.
type cmdCall struct {
	user string
	inc  *incident.Incident // nil unless the subcommand takes an incident and one was named or implied
	args []string           // the arguments after the incident ID, if one was given
}

// usageError is a bad invocation; the reply is the usage line.
type usageError struct{ why string }

func (e *usageError) Error() string { return e.why }

func badUsage(format string, args ...any) error {
	return &usageError{why: fmt.Sprintf(format, args...)}
}

// slackCommands returns the /warroom subcommands, in the order help lists
// them. (A function, not a table: help refers to the list.)
func slackCommands() []subcommand {
	return []subcommand{
		{name: "help", about: "this list", run: (*Surface).cmdHelp},
		{name: "list", about: "open war rooms", run: (*Surface).cmdList},
		{name: "declare", args: "<service> <summary>", about: "open a war room by hand", run: (*Surface).cmdDeclare},
		{name: "status", args: "[INC-n]", about: "where the incident stands", incident: needsIncident, run: (*Surface).cmdStatus},
		{name: "ack", args: "[INC-n]", about: "acknowledge", incident: needsIncident, run: (*Surface).cmdAck},
		{name: "assign", args: "[INC-n] <@user> <commander|comms|scribe>", about: "give a role", incident: needsIncident, run: (*Surface).cmdAssign},
		{name: "note", args: "[INC-n] [--jira] <text>", about: "add a note to the timeline (--jira: and to the ticket)", incident: needsIncident, run: (*Surface).cmdNote},
		{name: "followup", args: "[INC-n] <text>", about: "ask for a follow-up: a Jira issue linked to the ticket", incident: needsIncident, run: (*Surface).cmdFollowup},
		{name: "severity", args: "[INC-n] <critical|major|minor>", about: "change the severity: topic, ticket priority and summary follow", incident: needsIncident, run: (*Surface).cmdSeverity},
		{name: "mitigate", args: "[INC-n]", about: "the bleeding stopped", incident: needsIncident, run: (*Surface).cmdMitigate},
		{name: "resolve", args: "[INC-n] [summary]", about: "close the incident", incident: needsIncident, run: (*Surface).cmdResolve},
		{name: "timeline", args: "[INC-n]", about: "what happened so far", incident: needsIncident, run: (*Surface).cmdTimeline},
		{name: "deploys", args: "[service]", about: "recent deploys, the suspect marked", incident: optionalIncident, run: (*Surface).cmdDeploys},
		{name: "rollback", args: "[INC-n]", about: "the rollback suggestion", incident: needsIncident, run: (*Surface).cmdRollback},
		{name: "silence", args: "[INC-n] <duration>", about: "silence the incident's alerts in Alertmanager until resolve", incident: needsIncident, run: (*Surface).cmdSilence},
	}
}

func findSubcommand(name string) (*subcommand, bool) {
	cmds := slackCommands()
	for i := range cmds {
		if cmds[i].name == name {
			return &cmds[i], true
		}
	}
	return nil, false
}

func (c *subcommand) usage() string {
	u := "/warroom " + c.name
	if c.args != "" {
		u += " " + c.args
	}
	return u
}

// cmdUserID matches a Slack user ID (U… or, on Enterprise Grid, W…).
var cmdUserID = regexp.MustCompile(`^[UW][A-Z0-9]{1,31}$`)

// command runs one /warroom invocation, whichever transport brought it,
// and returns the reply. It never fails: errors become ephemeral replies.
func (sl *Surface) command(ctx context.Context, cmd slack.SlashCommand) slackMessage {
	ctx, cancel := context.WithTimeout(sl.begin(ctx), slackHandleBudget)
	defer cancel()
	if !cmdUserID.MatchString(cmd.UserID) {
		return cmdEphemeral("Slack sent this command without a user; nothing done.")
	}
	fields := strings.Fields(cmd.Text)
	if len(fields) == 0 {
		fields = []string{"help"}
	}
	sub, ok := findSubcommand(strings.ToLower(fields[0]))
	if !ok {
		return cmdEphemeral("Unknown subcommand %q.\n%s", slackmsg.Escape(fields[0]), cmdHelpText())
	}
	call := &cmdCall{user: cmd.UserID, args: fields[1:]}
	if sub.incident != noIncident {
		inc, rest, err := sl.commandIncident(ctx, cmd.ChannelID, call.args, sub.incident == needsIncident)
		if err != nil {
			return sl.failure(sub, err)
		}
		call.inc, call.args = inc, rest
	}
	if refusal := sl.authorize(ctx, sub.name, call.user, call.inc); refusal != "" {
		return cmdEphemeral("%s", refusal)
	}
	msg, err := sub.run(sl, ctx, call)
	if err != nil {
		return sl.failure(sub, err)
	}
	return msg
}

// commandIncident finds the incident a command is about. Inside a war
// room (the command's channel is an incident's) it is implied, and an
// explicit INC-n first argument names another; elsewhere the first
// argument is the ID (INC-7, inc-7 or 7). It returns the arguments after
// the ID.
func (sl *Surface) commandIncident(ctx context.Context, channelID string, args []string, required bool) (*incident.Incident, []string, error) {
	var room *incident.Incident
	if channelID != "" {
		inc, err := sl.store.IncidentByChannel(ctx, channelID)
		switch {
		case err == nil:
			room = inc
		case incident.ErrorCode(err) != incident.ENOTFOUND:
			return nil, nil, err
		}
	}
	id := ""
	if len(args) > 0 && looksLikeID(args[0], room == nil) {
		parsed, err := incident.ParseID(args[0])
		if err != nil {
			return nil, nil, err
		}
		id, args = parsed, args[1:]
	}
	switch {
	case id == "" && room != nil:
		return room, args, nil
	case id == "" && required:
		return nil, nil, badUsage("outside a war room, name the incident, e.g. INC-7")
	case id == "":
		return nil, args, nil
	case room != nil && room.ID == id:
		return room, args, nil
	}
	inc, err := sl.store.Incident(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return inc, args, nil
}

// looksLikeID reports whether s is meant as an incident ID: INC-n in any
// case, and a bare number too where nothing else could be meant (outside
// a war room), so that "/warroom note 3 pods restarted" in a war room is
// a note.
func looksLikeID(s string, bareNumber bool) bool {
	if len(s) > len(incident.IDPrefix) && strings.EqualFold(s[:len(incident.IDPrefix)], incident.IDPrefix) {
		return true
	}
	if !bareNumber || s == "" {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// failure turns an error into an ephemeral reply: the usage line for bad
// usage, the message of an application error, and "internal error" (the
// detail logged) for anything else.
func (sl *Surface) failure(sub *subcommand, err error) slackMessage {
	if u, ok := errors.AsType[*usageError](err); ok {
		return cmdEphemeral("%s\nUsage: `%s`", slackmsg.Escape(u.why), sub.usage())
	}
	return cmdEphemeral("%s", sl.errorText("command "+sub.name, err))
}

// errorText is what a user is told about err.
func (sl *Surface) errorText(op string, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		sl.log.Warn("slack: timed out", "op", op, "err", err)
		return "That took too long; try again."
	}
	if incident.ErrorCode(err) == "internal" {
		sl.log.Error("slack", "op", op, "err", err)
		return "Internal error; it is logged. Try again."
	}
	return slackmsg.Escape(incident.ErrorMessage(err))
}

func cmdHelpText() string {
	var b strings.Builder
	b.WriteString("*/warroom* subcommands (inside a war room the incident is implied):\n")
	for _, c := range slackCommands() {
		fmt.Fprintf(&b, "• `%s` — %s\n", c.usage(), c.about)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (sl *Surface) cmdHelp(context.Context, *cmdCall) (slackMessage, error) {
	return cmdEphemeral("%s", cmdHelpText()), nil
}

func (sl *Surface) cmdDeclare(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) < 2 {
		return slackMessage{}, badUsage("declare needs a service and a summary")
	}
	service, summary := c.args[0], slackPlain(strings.Join(c.args[1:], " "))
	inc, err := sl.svc.Declare(ctx, service, "", summary, c.user)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("<@%s> declared *%s* for %s: %s\nWar room %s is being opened; <@%s> is the commander.",
		c.user, inc.ID, slackmsg.Escape(inc.Service), slackmsg.Escape(inc.Title), cmdChannelRef(inc), c.user), nil
}

func (sl *Surface) cmdAck(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) > 0 {
		return slackMessage{}, badUsage("ack takes no arguments but the incident")
	}
	inc, err := sl.svc.Ack(ctx, c.inc.ID, c.user)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("<@%s> acknowledged *%s* (%s).", c.user, inc.ID, slackmsg.Escape(inc.Service)), nil
}

func (sl *Surface) cmdMitigate(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) > 0 {
		return slackMessage{}, badUsage("mitigate takes no arguments but the incident")
	}
	inc, err := sl.svc.Mitigate(ctx, c.inc.ID, c.user)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("<@%s> marked *%s* (%s) mitigated.", c.user, inc.ID, slackmsg.Escape(inc.Service)), nil
}

func (sl *Surface) cmdResolve(ctx context.Context, c *cmdCall) (slackMessage, error) {
	summary := slackPlain(strings.Join(c.args, " "))
	if len([]rune(summary)) > maxSlackText {
		return slackMessage{}, badUsage("the summary is over %d characters", maxSlackText)
	}
	inc, err := sl.svc.Resolve(ctx, c.inc.ID, c.user, summary)
	if err != nil {
		return slackMessage{}, err
	}
	text := fmt.Sprintf("<@%s> resolved *%s* (%s).", c.user, inc.ID, slackmsg.Escape(inc.Service))
	if summary != "" {
		text += " " + slackmsg.Escape(summary)
	}
	if line := sl.rateNow(ctx, inc); line != "" {
		text += "\n" + line
	}
	return cmdInChannel("%s", text), nil
}

func (sl *Surface) cmdAssign(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) != 2 {
		return slackMessage{}, badUsage("assign needs a user and a role")
	}
	user, ok := parseMention(c.args[0])
	if !ok {
		return slackMessage{}, badUsage("%q is not a user mention; mention the user with @", c.args[0])
	}
	role, err := incident.ParseRole(c.args[1])
	if err != nil {
		return slackMessage{}, badUsage("%s", incident.ErrorMessage(err))
	}
	inc, err := sl.svc.Assign(ctx, c.inc.ID, c.user, user, role)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("<@%s> is now %s of *%s* (assigned by <@%s>).", user, role, inc.ID, c.user), nil
}

func (sl *Surface) cmdSeverity(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) != 1 {
		return slackMessage{}, badUsage("severity needs one level: critical, major or minor")
	}
	sev, err := incident.ParseSeverityLevel(c.args[0])
	if err != nil {
		return slackMessage{}, badUsage("%s", incident.ErrorMessage(err))
	}
	old := c.inc.Severity
	inc, changed, err := sl.svc.SetSeverity(ctx, c.inc.ID, c.user, sev)
	if err != nil {
		return slackMessage{}, err
	}
	if !changed {
		return cmdEphemeral("*%s* is already %s; nothing changed.", inc.ID, sev), nil
	}
	return cmdInChannel("<@%s> changed the severity of *%s* (%s) from %s to %s.", c.user, inc.ID,
		slackmsg.Escape(inc.Service), slackmsg.Escape(string(old)), sev), nil
}

func (sl *Surface) cmdNote(ctx context.Context, c *cmdCall) (slackMessage, error) {
	args := c.args
	forJira := len(args) > 0 && args[0] == "--jira"
	if forJira {
		args = args[1:]
	}
	text := slackPlain(strings.Join(args, " "))
	switch {
	case text == "":
		return slackMessage{}, badUsage("a note needs text")
	case len([]rune(text)) > maxSlackText:
		return slackMessage{}, badUsage("the note is over %d characters", maxSlackText)
	}
	if _, err := sl.svc.Note(ctx, c.inc.ID, c.user, text, forJira); err != nil {
		return slackMessage{}, err
	}
	where := ""
	if forJira {
		where = " (and on the ticket)"
	}
	return cmdInChannel("<@%s> noted on *%s*%s: %s", c.user, c.inc.ID, where, slackmsg.Escape(text)), nil
}

func (sl *Surface) cmdFollowup(ctx context.Context, c *cmdCall) (slackMessage, error) {
	text := slackPlain(strings.Join(c.args, " "))
	if strings.TrimSpace(text) == "" {
		return slackMessage{}, badUsage("a follow-up needs text")
	}
	ev, err := sl.svc.Followup(ctx, c.inc.ID, c.user, text)
	if err != nil {
		return slackMessage{}, err
	}
	ticket := "the incident's ticket"
	if c.inc.JiraKey != "" {
		ticket = slackmsg.Escape(c.inc.JiraKey)
	}
	return cmdInChannel("<@%s> asked for a follow-up on *%s*: %s\nwarroom files it in Jira, linked to %s.",
		c.user, c.inc.ID, slackmsg.Escape(ev.Text), ticket), nil
}

// rateNow says, from Prometheus, whether the incident's rate is back under
// its threshold: "" when it cannot be told (no query, no Prometheus, no
// value) within a second.
func (sl *Surface) rateNow(ctx context.Context, inc *incident.Incident) string {
	valueNow := sl.settings(ctx).ValueNow
	if valueNow == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	v, ok, err := valueNow(ctx, inc)
	switch {
	case err != nil:
		return ":warning: Prometheus could not say whether the rate is back: " + slackmsg.Escape(render.OneLine(err.Error(), 200))
	case !ok:
		return ""
	case inc.Threshold == nil:
		return "Prometheus: " + inc.Unit.Format(v) + " now."
	case v > *inc.Threshold:
		return fmt.Sprintf(":warning: Prometheus: still %s now, above the %s threshold.", inc.Unit.Format(v), inc.Unit.Format(*inc.Threshold))
	}
	return fmt.Sprintf(":white_check_mark: Prometheus: %s now, back under the %s threshold.", inc.Unit.Format(v), inc.Unit.Format(*inc.Threshold))
}
