package slackbot

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

func TestPermissionTable(t *testing.T) {
	t.Parallel()
	oncall := []string{"@sre-oncall", "commander"}
	tests := []struct {
		name       string
		perms      map[string][]string
		action     string
		who        []string
		restricted bool
	}{
		{"no permissions: open", nil, "assign", nil, false},
		{"unlisted action: open", map[string][]string{"resolve": oncall}, "ack", nil, false},
		{"listed action", map[string][]string{"ack": {"UALICE"}}, "ack", []string{"UALICE"}, true},
		{"listed empty: nobody", map[string][]string{"assign": {}}, "assign", []string{}, true},
		{"assign listed: its own entry", map[string][]string{"resolve": oncall, "assign": {"UALICE"}}, "assign", []string{"UALICE"}, true},
		{"no commander anywhere: assign open", map[string][]string{"ack": {"UALICE"}}, "assign", nil, false},
		{"commander may resolve: assign follows", map[string][]string{"resolve": oncall}, "assign", oncall, true},
		{"the union, commander once", map[string][]string{"resolve": oncall, "rollback": {"UALICE", "Commander"}, "ack": {"UBOB"}},
			"assign", []string{"@sre-oncall", "commander", "UALICE"}, true},
	}
	for _, tc := range tests {
		who, restricted := permission(tc.perms, tc.action)
		if restricted != tc.restricted || !reflect.DeepEqual(who, tc.who) {
			t.Errorf("%s: permission(%q) = %q, %v; want %q, %v", tc.name, tc.action, who, restricted, tc.who, tc.restricted)
		}
	}
}

// exampleConfig is the reference configuration.
const exampleConfig = "../../examples/warroom.yaml"

// referencePermissions are slack.permissions of examples/warroom.yaml.
func referencePermissions(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data, exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	return c.Slack.Permissions
}

// The reference config leaves none of the actions that change an
// incident, or call Alertmanager or a rollback webhook, open to everyone:
// a user outside the on-call group is refused, and told who may; a member
// is let through. Commands and buttons obey the same table.
func TestReferencePermissionsHold(t *testing.T) {
	t.Parallel()
	perms := referencePermissions(t)
	for _, a := range []string{"ack", "assign", "mitigate", "resolve", "rollback", "severity", "silence"} {
		if who := perms[a]; len(who) == 0 {
			t.Errorf("reference slack.permissions.%s = %q; want the on-call group and the commander", a, who)
		}
	}
	const only = "Only @sre-oncall or the incident commander may "
	tests := []struct {
		name   string
		button string // the button's action ID, or "" for the command
		text   string // the command, %s is INC-1
		action string
		kind   incident.EventKind // what the allowed one puts on the timeline ("" for nothing)
	}{
		{name: "ack", text: "ack INC-1", action: "ack", kind: incident.EventAcknowledged},
		{name: "assign", text: "assign INC-1 <@UBOB> commander", action: "assign", kind: incident.EventAssigned},
		{name: "mitigate", text: "mitigate INC-1", action: "mitigate", kind: incident.EventMitigated},
		{name: "resolve", text: "resolve INC-1 fixed", action: "resolve", kind: incident.EventResolved},
		{name: "silence", text: "silence INC-1 1h", action: "silence", kind: incident.EventSilenceRequested},
		{name: "severity", text: "severity INC-1 major", action: "severity", kind: incident.EventSeverityChanged},
		{name: "rollback", text: "rollback INC-1", action: "rollback"},
		{name: "ack button", button: slackmsg.ActionAck, action: "ack", kind: incident.EventAcknowledged},
		{name: "mitigate button", button: slackmsg.ActionMitigate, action: "mitigate", kind: incident.EventMitigated},
		{name: "resolve button", button: slackmsg.ActionResolve, action: "resolve", kind: incident.EventResolved},
		{name: "silence button", button: slackmsg.ActionSilence, action: "silence", kind: incident.EventSilenceRequested},
		{name: "rollback button", button: slackmsg.ActionRollback, action: "rollback", kind: incident.EventRollbackRequested},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSlackFixture(t, perms)
			f.dir.groups["sre-oncall"] = []string{"UONCALL"}
			// Opened by an alert in real life: no commander to lean on.
			inc := f.declare("payments", "")
			before := len(f.timeline(inc.ID))
			refusal := only + tc.action + " INC-1."
			act := func(user string) string {
				if tc.button == "" {
					return f.command(user, "CGENERAL", tc.text).Text
				}
				n := len(f.hooks.messages())
				f.press(user, tc.button, inc.ID)
				msgs := f.hooks.messages()
				if len(msgs) != n+1 {
					t.Fatalf("press by %s: %d replies; want one", user, len(msgs)-n)
				}
				text, _ := msgs[n]["text"].(string)
				return text
			}
			if got := act("UBOB"); got != refusal {
				t.Errorf("UBOB: %q; want %q", got, refusal)
			}
			if n := len(f.timeline(inc.ID)); n != before {
				t.Errorf("a refused %s changed the timeline (%d → %d events)", tc.name, before, n)
			}
			if got := f.incident(inc.ID); got.State != incident.Triggered || got.Commander != "" {
				t.Errorf("after a refused %s: state %s, commander %q", tc.name, got.State, got.Commander)
			}
			if got := act("UONCALL"); strings.HasPrefix(got, "Only ") {
				t.Errorf("UONCALL refused: %q", got)
			}
			if tc.kind != "" && len(f.events(inc.ID, tc.kind)) != 1 {
				t.Errorf("UONCALL's %s: no %s event", tc.name, tc.kind)
			}
		})
	}
}

// With the old reference (resolve and rollback for @sre-oncall and the
// commander, assign unlisted), anybody could make themselves commander
// and then resolve. assign now follows the entries that name the
// commander: the two steps fail, and the role is still handed over by
// those who may.
func TestAssignIsNoWayToCommander(t *testing.T) {
	t.Parallel()
	perms := map[string][]string{
		"resolve":  {"@sre-oncall", "commander"},
		"rollback": {"@sre-oncall", "commander"},
	}
	f := newSlackFixture(t, perms)
	f.dir.groups["sre-oncall"] = []string{"UONCALL"}
	alerted := f.declare("payments", "")       // INC-1, as an alert opens it: no commander
	declared := f.declare("checkout", "UCMDR") // INC-2

	for _, inc := range []*incident.Incident{alerted, declared} {
		msg := f.command("UBOB", "CGENERAL", "assign "+inc.ID+" <@UBOB> commander")
		if want := "Only @sre-oncall or the incident commander may assign " + inc.ID + "."; msg.Text != want {
			t.Errorf("%s: self-promotion: %q; want %q", inc.ID, msg.Text, want)
		}
		if msg := f.command("UBOB", "CGENERAL", "resolve "+inc.ID); !strings.HasPrefix(msg.Text, "Only ") {
			t.Errorf("%s: resolve after the refused assign: %q", inc.ID, msg.Text)
		}
		f.press("UBOB", slackmsg.ActionResolve, inc.ID)
		if got := f.incident(inc.ID); got.Commander == "UBOB" || got.State == incident.Resolved {
			t.Errorf("%s: commander %q, state %s; the two steps went through", inc.ID, got.Commander, got.State)
		}
	}

	// The on-call group and the commander may hand the role over, and the
	// new commander may then resolve.
	if msg := f.command("UONCALL", "CGENERAL", "assign INC-1 <@UBOB> commander"); msg.ResponseType != "in_channel" {
		t.Errorf("on-call assigns: %q", msg.Text)
	}
	if msg := f.command("UCMDR", "CGENERAL", "assign INC-2 <@UCAROL> commander"); msg.ResponseType != "in_channel" {
		t.Errorf("commander hands over: %q", msg.Text)
	}
	if msg := f.command("UBOB", "CGENERAL", "resolve INC-1"); msg.ResponseType != "in_channel" {
		t.Errorf("the assigned commander resolves: %q", msg.Text)
	}
	if got := f.incident("INC-1").State; got != incident.Resolved {
		t.Errorf("INC-1 %s; want resolved by its new commander", got)
	}
	if msg := f.command("UCMDR", "CGENERAL", "assign INC-2 <@UCMDR> commander"); !strings.HasPrefix(msg.Text, "Only ") {
		t.Errorf("the former commander took the role back: %q", msg.Text)
	}
}

// A config that restricts nothing stays as it was: every action, assign
// included, is open.
func TestNoPermissionsStayOpen(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	f.declare("payments", "UCMDR")
	for _, text := range []string{"assign INC-1 <@UBOB> commander", "ack INC-1", "resolve INC-1"} {
		if msg := f.command("UBOB", "CGENERAL", text); msg.ResponseType != "in_channel" {
			t.Errorf("%s: %q", text, msg.Text)
		}
	}
}
