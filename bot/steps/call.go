package steps

import (
	"encoding/json"

	"github.com/slack-go/slack"

	ijira "github.com/warroom/warroom/integrations/jira"
)

// Call is one request that changes an outside system. A step plans its
// calls as values first (Planner); the real executor sends exactly them
// through the typed clients, the dry run logs them and `warroom simulate`
// prints them, so the three cannot disagree. What a step only reads (is
// the message there already? what is the transition's ID?) is a lookup,
// not a call: it comes before the plan and may shape it.
//
// Its JSON is stable: the fields of its Args in their declared order.
type Call struct {
	// System is the outside system: SystemSlack, SystemJira,
	// SystemAlertmanager or SystemWebhook.
	System string `json:"system,omitempty"`
	// Method names the call as the system's API does: a Slack Web API
	// method ("chat.postMessage"), or an HTTP method and path template
	// ("POST /rest/api/2/issue/{key}/comment") whose parameters are among
	// the Args.
	Method string `json:"method,omitempty"`
	// Args are the call's arguments as the API takes them, by its names:
	// for Slack the method's arguments, for Jira the path's parameters and
	// the fields of the JSON body. A Call made by NewCall holds one of the
	// Args types of this package; one read back from JSON, a map.
	Args any `json:"args,omitempty"`
}

// The outside systems steps change.
const (
	SystemSlack        = "slack"
	SystemJira         = "jira"
	SystemAlertmanager = "alertmanager"
	SystemWebhook      = "webhook"
)

// Args are the arguments of one kind of call: their type says the system
// and the method, so that a Call cannot name one method and carry the
// arguments of another.
type Args interface {
	call() (system, method string)
}

// NewCall returns the call that takes a.
func NewCall(a Args) Call {
	system, method := a.call()
	return Call{System: system, Method: method, Args: a}
}

// Slack Web API calls, their arguments by the API's names.

// SlackCreateChannel is conversations.create.
type SlackCreateChannel struct {
	Name      string `json:"name"`
	IsPrivate bool   `json:"is_private"`
}

// SlackSetTopic is conversations.setTopic.
type SlackSetTopic struct {
	Channel string `json:"channel"`
	Topic   string `json:"topic"`
}

// SlackSetPurpose is conversations.setPurpose.
type SlackSetPurpose struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
}

// SlackInvite is conversations.invite of one user: each is invited on
// its own, so that one who cannot be does not keep the others out.
type SlackInvite struct {
	Channel string `json:"channel"`
	Users   string `json:"users"`
}

// SlackMetadata is a message's metadata: an earlier run of a step finds
// the message it posted by its event type and key.
type SlackMetadata struct {
	EventType    string            `json:"event_type"`
	EventPayload map[string]string `json:"event_payload"`
}

// Metadata returns the metadata of a message of kind and key.
func Metadata(kind, key string) SlackMetadata {
	return SlackMetadata{EventType: kind, EventPayload: map[string]string{"key": key}}
}

// Key is the key of the metadata.
func (m SlackMetadata) Key() string { return m.EventPayload["key"] }

// SlackPost is chat.postMessage.
type SlackPost struct {
	Channel  string        `json:"channel"`
	Text     string        `json:"text"`
	Blocks   []slack.Block `json:"blocks,omitempty"`
	Metadata SlackMetadata `json:"metadata"`
}

// SlackUpdate is chat.update.
type SlackUpdate struct {
	Channel  string        `json:"channel"`
	TS       string        `json:"ts"`
	Text     string        `json:"text"`
	Blocks   []slack.Block `json:"blocks,omitempty"`
	Metadata SlackMetadata `json:"metadata"`
}

// SlackPin is pins.add.
type SlackPin struct {
	Channel   string `json:"channel"`
	Timestamp string `json:"timestamp"`
}

// SlackBookmark is bookmarks.add of a link.
type SlackBookmark struct {
	ChannelID string `json:"channel_id"`
	Title     string `json:"title"`
	Type      string `json:"type"`
	Link      string `json:"link"`
}

// SlackArchive is conversations.archive.
type SlackArchive struct {
	Channel string `json:"channel"`
}

func (SlackCreateChannel) call() (string, string) { return SystemSlack, "conversations.create" }
func (SlackSetTopic) call() (string, string)      { return SystemSlack, "conversations.setTopic" }
func (SlackSetPurpose) call() (string, string)    { return SystemSlack, "conversations.setPurpose" }
func (SlackInvite) call() (string, string)        { return SystemSlack, "conversations.invite" }
func (SlackPost) call() (string, string)          { return SystemSlack, "chat.postMessage" }
func (SlackUpdate) call() (string, string)        { return SystemSlack, "chat.update" }
func (SlackPin) call() (string, string)           { return SystemSlack, "pins.add" }
func (SlackBookmark) call() (string, string)      { return SystemSlack, "bookmarks.add" }
func (SlackArchive) call() (string, string)       { return SystemSlack, "conversations.archive" }

// Jira REST API v2 calls: the path's parameters ("key") and the fields
// of the JSON body, by Jira's names.

// JiraCreateIssue is POST /rest/api/2/issue: {"fields": {...}}, as the
// typed client sends the issue.
type JiraCreateIssue struct {
	Issue ijira.NewIssue
}

// MarshalJSON encodes the request's body.
func (a JiraCreateIssue) MarshalJSON() ([]byte, error) { return json.Marshal(a.Issue.Body()) }

// JiraRef names a Jira object as the REST API takes it: by ID, key or
// name.
type JiraRef struct {
	ID   string `json:"id,omitempty"`
	Key  string `json:"key,omitempty"`
	Name string `json:"name,omitempty"`
}

// JiraSetDescription is PUT /rest/api/2/issue/{key} of the description.
type JiraSetDescription struct {
	Key    string          `json:"key"`
	Fields JiraDescription `json:"fields"`
}

// JiraDescription is the field a description update sets.
type JiraDescription struct {
	Description string `json:"description"`
}

// JiraSetPriority is PUT /rest/api/2/issue/{key} of the priority.
type JiraSetPriority struct {
	Key    string       `json:"key"`
	Fields JiraPriority `json:"fields"`
}

// JiraPriority is the field a priority update sets.
type JiraPriority struct {
	Priority JiraRef `json:"priority"`
}

// JiraComment is POST /rest/api/2/issue/{key}/comment.
type JiraComment struct {
	Key  string `json:"key"`
	Body string `json:"body"`
}

// JiraTransition is POST /rest/api/2/issue/{key}/transitions. Jira takes
// the transition by its ID, which only Jira knows: a plan made without
// asking it (the dry run's) names the transition instead.
type JiraTransition struct {
	Key        string          `json:"key"`
	Transition JiraRef         `json:"transition"`
	Fields     *JiraResolution `json:"fields,omitempty"`
}

// JiraResolution is the resolution a transition sets.
type JiraResolution struct {
	Resolution JiraRef `json:"resolution"`
}

// JiraLink is POST /rest/api/2/issueLink.
type JiraLink struct {
	Type         JiraRef `json:"type"`
	InwardIssue  JiraRef `json:"inwardIssue"`
	OutwardIssue JiraRef `json:"outwardIssue"`
}

func (JiraCreateIssue) call() (string, string) { return SystemJira, "POST /rest/api/2/issue" }
func (JiraSetDescription) call() (string, string) {
	return SystemJira, "PUT /rest/api/2/issue/{key}"
}
func (JiraSetPriority) call() (string, string) {
	return SystemJira, "PUT /rest/api/2/issue/{key}"
}
func (JiraComment) call() (string, string) { return SystemJira, "POST /rest/api/2/issue/{key}/comment" }
func (JiraTransition) call() (string, string) {
	return SystemJira, "POST /rest/api/2/issue/{key}/transitions"
}
func (JiraLink) call() (string, string) { return SystemJira, "POST /rest/api/2/issueLink" }

// AlertmanagerExpireSilence is DELETE /api/v2/silence/{id}.
type AlertmanagerExpireSilence struct {
	ID string `json:"id"`
}

func (AlertmanagerExpireSilence) call() (string, string) {
	return SystemAlertmanager, "DELETE /api/v2/silence/{id}"
}

// RollbackWebhook is the POST of a rollback request to a rule's rollback
// webhook (rollback.webhook_url). The signature header is made from the
// body when it is sent (actions.SignRollback); the Idempotency-Key header carries
// IdempotencyKey.
type RollbackWebhook struct {
	URL            string          `json:"url"`
	IdempotencyKey string          `json:"idempotency_key"`
	Body           RollbackRequest `json:"body"`
}

func (RollbackWebhook) call() (string, string) { return SystemWebhook, "POST" }
