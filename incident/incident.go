// Package incident is warroom's domain: alerts, incidents and their state
// machine, the timeline, the decisions rules make, the side-effect jobs an
// incident causes, and the Service that ties them together over a Store.
//
// It is the ground floor of the project and imports no other package of it.
package incident

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is where an incident stands. The allowed moves are
// triggered → acknowledged → mitigated → resolved, any open state → resolved,
// and resolved → triggered (reopen).
type State string

// The states of an incident.
const (
	Triggered    State = "triggered"
	Acknowledged State = "acknowledged"
	Mitigated    State = "mitigated"
	Resolved     State = "resolved"
)

// Open reports whether the incident still needs responders.
func (s State) Open() bool { return s != Resolved }

func (s State) rank() int {
	switch s {
	case Triggered:
		return 0
	case Acknowledged:
		return 1
	case Mitigated:
		return 2
	case Resolved:
		return 3
	}
	return -1
}

// ParseState parses a state name as the API and CLI spell it.
func ParseState(s string) (State, error) {
	st := State(strings.ToLower(strings.TrimSpace(s)))
	if st.rank() < 0 {
		return "", fmt.Errorf("unknown state %q (want triggered, acknowledged, mitigated or resolved)", s)
	}
	return st, nil
}

// Severity is the rule's judgement of how bad an incident is. The usual
// values are critical, warning and info; rules may name others. A
// responder sets one of the levels (SeverityLevels): critical, major or
// minor.
type Severity string

// The usual severities, and the levels a responder sets.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
	Major    Severity = "major"
	Minor    Severity = "minor"
)

// SeverityLevels are the severities a responder may set (/warroom
// severity, the API, the CLI), worst first.
func SeverityLevels() []Severity { return []Severity{Critical, Major, Minor} }

// ParseSeverityLevel parses a level a responder typed; an unknown one is
// EINVALID, naming the valid levels.
func ParseSeverityLevel(s string) (Severity, error) {
	sev := Severity(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(SeverityLevels(), sev) {
		return sev, nil
	}
	if r := []rune(s); len(r) > 20 {
		s = string(r[:20]) + "…"
	}
	return "", Errorf(EINVALID, "unknown severity %q (valid: critical, major, minor)", s)
}

// Source says where an alert came from.
type Source string

// The alert sources.
const (
	SourceAlertmanager Source = "alertmanager"
	SourceGrafana      Source = "grafana"
	SourceManual       Source = "manual"
)

// AlertStatus is an alert's own status as its sender reports it.
type AlertStatus string

// The alert statuses of the Alertmanager webhook.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Alert is one alert as delivered, normalised across senders.
type Alert struct {
	Fingerprint  string             `json:"fingerprint"`
	Status       AlertStatus        `json:"status"`
	Labels       map[string]string  `json:"labels"`
	Annotations  map[string]string  `json:"annotations"`
	StartsAt     time.Time          `json:"starts_at"`
	EndsAt       time.Time          `json:"ends_at,omitzero"`
	GeneratorURL string             `json:"generator_url,omitempty"`
	Values       map[string]float64 `json:"values,omitempty"` // Grafana's refID → number
	Source       Source             `json:"source"`

	// Value is the number the deciding rule extracted, if any.
	Value *float64 `json:"value,omitempty"`
}

// Action is what a rule decided to do with an alert.
type Action string

// The decisions a rule can make (docs/ARCHITECTURE.md, the flow).
const (
	// ActionWarRoom opens a war room for the alert's key, or attaches to the open one.
	ActionWarRoom Action = "war_room"
	// ActionRecord stores the alert on a recorded (silent) incident: no Slack, no Jira.
	ActionRecord Action = "record"
	// ActionResolve marks the alert resolved on the incident that holds it.
	ActionResolve Action = "resolve"
	// ActionIgnore drops the alert (the delivery is still recorded).
	ActionIgnore Action = "ignore"
)

// Decision is a rule's verdict on one alert.
type Decision struct {
	Action Action
	// Rule is the name of the rule that decided ("default" for the built-in one).
	Rule string
	// Key identifies the incident: the rule name and the values of its
	// incident_key labels, e.g. "api-error-rate/env=prod,service=payment-gateway".
	Key      string
	Service  string
	Env      string
	Severity Severity
	// Value is the extracted number, nil when none was found.
	Value *float64
	// Threshold is the rule's threshold, nil for rules without one.
	Threshold *float64
	// Below says that lower values are worse (the rule fires below its
	// threshold); by default higher values are.
	Below bool
	// Unit is what Value and Threshold measure.
	Unit Unit
	// Reason says in a few words why, e.g. "3.11% above 0.8%".
	Reason string
	// Page says to page (JobPageTrigger) when the war room opens.
	Page bool
}

// Evaluator decides what to do with alerts; package rules implements it.
// Evaluate returns exactly one decision per alert, in order, and does no I/O.
type Evaluator interface {
	Evaluate(alerts []Alert) []Decision
}

// Incident is one problem, with one war room (or, when recorded, none).
type Incident struct {
	ID  string `json:"id"` // INC-7
	Seq int64  `json:"-"`
	// Kind is "incident", or "storm" for the war room of a storm (many
	// war rooms at once: docs/DECISIONS.md, D18).
	Kind     Kind     `json:"kind"`
	Key      string   `json:"key"`
	Service  string   `json:"service"`
	Env      string   `json:"env"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	State    State    `json:"state"`
	// WarRoom is false for incidents that were only recorded.
	WarRoom bool   `json:"war_room"`
	Title   string `json:"title"`
	// Value is the value of the worst of the incident's firing alerts (the
	// latest value of its last alert once none fires), nil when unknown.
	Value *float64 `json:"value"`
	// PeakValue is the worst value seen over the incident's life.
	PeakValue *float64 `json:"peak_value"`
	Threshold *float64 `json:"threshold"`
	// Unit is what Value, PeakValue and Threshold measure; "" is a ratio.
	Unit Unit `json:"unit,omitempty"`

	OpenedAt       time.Time  `json:"opened_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	MitigatedAt    *time.Time `json:"mitigated_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	UpdatedAt      time.Time  `json:"updated_at"`

	Commander string `json:"commander,omitempty"`
	Comms     string `json:"comms,omitempty"`
	Scribe    string `json:"scribe,omitempty"`
	// AnnounceChannelID and AnnounceTS locate the war room's line in the
	// announce channel.
	AnnounceChannelID string `json:"-"`
	AnnounceTS        string `json:"-"`
	// ReportedEvent is the last timeline event told in the war room.
	ReportedEvent int64 `json:"-"`
	// Evidence is what correlation found, nil until it ran.
	Evidence       *Evidence `json:"evidence,omitempty"`
	SlackChannelID string    `json:"slack_channel_id"`
	SlackChannel   string    `json:"slack_channel"`
	SummaryTS      string    `json:"summary_ts,omitempty"`
	JiraKey        string    `json:"jira_key"`
	SuspectDeploy  string    `json:"suspect_deploy"`
	// TruncatedAlerts is the highest truncatedAlerts count a delivery for
	// this incident reported: alerts Alertmanager knew of but did not send.
	TruncatedAlerts int `json:"truncated_alerts"`
	// LastError is the last permanent failure of a side-effect step.
	LastError string `json:"last_error,omitempty"`

	// Storm is, on a storm's child, the storm's ID: the child has no war
	// room of its own and shows in the storm's.
	Storm string `json:"storm,omitempty"`
	// Children lists, on a storm, the incidents that joined it, oldest
	// first (read from the store; not written with the storm).
	Children []string `json:"children,omitempty"`
	// ChildrenOpen counts, on a storm, its children still open.
	ChildrenOpen int `json:"children_open,omitempty"`
	// Linked lists, on a storm, the war rooms opened within the storm
	// window before it was declared: they keep their own rooms.
	Linked []string `json:"linked,omitempty"`
}

// IDPrefix is the prefix of incident IDs.
const IDPrefix = "INC-"

// FormatID renders an incident sequence number as its ID.
func FormatID(seq int64) string { return IDPrefix + strconv.FormatInt(seq, 10) }

// ParseID accepts "INC-7", "inc-7" or "7" and returns the canonical ID.
func ParseID(s string) (string, error) {
	s = strings.TrimSpace(s)
	num := s
	if len(s) > len(IDPrefix) && strings.EqualFold(s[:len(IDPrefix)], IDPrefix) {
		num = s[len(IDPrefix):]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return "", Errorf(EINVALID, "%q is not an incident ID (want INC-<number>)", s)
	}
	return FormatID(n), nil
}

// EventKind names what happened on a timeline.
type EventKind string

// The timeline event kinds.
const (
	EventOpened        EventKind = "opened"
	EventRecorded      EventKind = "recorded"
	EventEscalated     EventKind = "escalated"
	EventAlertAttached EventKind = "alert_attached"
	EventAlertResolved EventKind = "alert_resolved"
	EventAlertRefired  EventKind = "alert_refired"
	EventAcknowledged  EventKind = "acknowledged"
	EventMitigated     EventKind = "mitigated"
	EventResolved      EventKind = "resolved"
	EventReopened      EventKind = "reopened"
	EventNote          EventKind = "note"
	EventStepFailed    EventKind = "step_failed"
	// EventWithheld says why an incident that asked for a war room was
	// only recorded (a cap on new war rooms).
	EventWithheld EventKind = "war_room_withheld"
)

// Actors that are not people.
const (
	ActorAlert  = "alert"
	ActorSystem = "warroom"
)

// Event is one entry of an incident's timeline.
type Event struct {
	ID         int64     `json:"id"`
	IncidentID string    `json:"incident_id"`
	At         time.Time `json:"at"`
	Kind       EventKind `json:"kind"`
	// Actor is "alert", "warroom", a Slack user ID, or "cli:<name>"/"api".
	Actor string `json:"actor"`
	Text  string `json:"text"`
}

// Delivery is one webhook as received, before it is decided on.
type Delivery struct {
	Source          Source
	Receiver        string
	GroupKey        string
	Status          string
	TruncatedAlerts int
	ReceivedAt      time.Time
	Alerts          []Alert
}

// Filter selects incidents for listing.
type Filter struct {
	State   State  // empty: any
	Service string // empty: any
	// All includes recorded incidents; by default only war rooms and the
	// children of storms (whose war room is their storm's) are listed.
	All bool
	// Storm lists the children of this storm only.
	Storm string
	Limit int // 0: the store's default
}
