package slackbot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warroom/warroom/incident"
)

func TestSlackCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string // %s is INC-1, declared by UCMDR before the command
		typ   string
		reply []string
		check func(t *testing.T, f *slackFixture)
	}{
		{name: "help", text: "help", typ: "ephemeral", reply: []string{"/warroom declare <service> <summary>", "/warroom assign", "/warroom timeline"}},
		{name: "empty is help", text: "", typ: "ephemeral", reply: []string{"/warroom list"}},
		{name: "list", text: "list", typ: "ephemeral", reply: []string{"Open war rooms:", "*INC-1* payments — triggered"}},
		{name: "declare", text: "declare checkout Card payments fail &amp; &lt;retry&gt;", typ: "in_channel",
			reply: []string{"<@UALICE> declared *INC-2* for checkout: Card payments fail &amp; &lt;retry&gt;", "#inc-"},
			check: func(t *testing.T, f *slackFixture) {
				inc := f.incident("INC-2")
				if inc.Service != "checkout" || inc.Title != "Card payments fail & <retry>" || inc.Commander != "UALICE" || !inc.WarRoom {
					t.Errorf("declared %+v", inc)
				}
				if ev := f.events("INC-2", incident.EventDeclared); len(ev) != 1 || ev[0].Actor != "UALICE" {
					t.Errorf("declared events %+v; want one by UALICE", ev)
				}
			}},
		{name: "status", text: "status %s", typ: "ephemeral", reply: []string{"*INC-1: payments is failing*", "State: *triggered*", "Commander: <@UCMDR>"}},
		{name: "ack", text: "ack %s", typ: "in_channel", reply: []string{"<@UALICE> acknowledged *INC-1*"},
			check: stateBy(incident.Acknowledged, incident.EventAcknowledged, "UALICE")},
		{name: "assign", text: "assign %s <@UBOB|bob> Comms", typ: "in_channel", reply: []string{"<@UBOB> is now comms of *INC-1* (assigned by <@UALICE>)"},
			check: func(t *testing.T, f *slackFixture) {
				if inc := f.incident("INC-1"); inc.Comms != "UBOB" {
					t.Errorf("comms %q; want UBOB", inc.Comms)
				}
				if ev := f.events("INC-1", incident.EventAssigned); len(ev) != 1 || ev[0].Actor != "UALICE" {
					t.Errorf("assigned events %+v; want one by UALICE", ev)
				}
			}},
		{name: "note", text: "note %s restarted <@UBOB|bob>'s pods &amp; caches", typ: "in_channel", reply: []string{"noted on *INC-1*: restarted @bob's pods &amp; caches"},
			check: func(t *testing.T, f *slackFixture) {
				ev := f.events("INC-1", incident.EventNote)
				if len(ev) != 1 || ev[0].Actor != "UALICE" || ev[0].Text != "restarted @bob's pods & caches" {
					t.Errorf("notes %+v; want one by UALICE in plain text", ev)
				}
			}},
		{name: "mitigate", text: "mitigate %s", typ: "in_channel", reply: []string{"<@UALICE> marked *INC-1* (payments) mitigated"},
			check: stateBy(incident.Mitigated, incident.EventMitigated, "UALICE")},
		{name: "resolve", text: "resolve %s rolled back v2", typ: "in_channel", reply: []string{"<@UALICE> resolved *INC-1* (payments). rolled back v2"},
			check: func(t *testing.T, f *slackFixture) {
				stateBy(incident.Resolved, incident.EventResolved, "UALICE")(t, f)
				if ev := f.events("INC-1", incident.EventResolved); len(ev) == 1 && !strings.Contains(ev[0].Text, "rolled back v2") {
					t.Errorf("resolve text %q; want the summary", ev[0].Text)
				}
			}},
		{name: "timeline", text: "timeline %s", typ: "ephemeral", reply: []string{"*Timeline of INC-1*", "declared — <@UCMDR>: declared by UCMDR: payments is failing"}},
		{name: "deploys", text: "deploys payments", typ: "ephemeral", reply: []string{"No deploys of payments recorded"}},
		{name: "rollback", text: "rollback %s", typ: "ephemeral", reply: []string{"*Rollback suggestion for INC-1*", "warroom never runs commands itself"}},
		{name: "silence", text: "silence %s 1h", typ: "in_channel", reply: []string{"silenced for 1h by UALICE: silence ", `{service="payments", env="prod"}`},
			check: func(t *testing.T, f *slackFixture) {
				ss := f.am.Silences()
				if len(ss) != 1 || !strings.HasPrefix(ss[0].Comment, "warroom INC-1:") || ss[0].State != "active" {
					t.Errorf("silences in Alertmanager %+v; want one for INC-1", ss)
				}
			}},
		{name: "silence without a duration", text: "silence %s", typ: "ephemeral", reply: []string{"silence needs a duration"}},
		{name: "silence too long", text: "silence %s 30d", typ: "ephemeral", reply: []string{"between 1m and 7d"}},
		{name: "unknown subcommand", text: "escalate %s", typ: "ephemeral", reply: []string{`Unknown subcommand "escalate"`, "/warroom ack [INC-n]"}},
		{name: "already acknowledged", text: "ack %s", typ: "ephemeral", reply: []string{"INC-1 is already acknowledged"},
			check: func(t *testing.T, f *slackFixture) {
				if n := len(f.events("INC-1", incident.EventAcknowledged)); n != 1 {
					t.Errorf("%d acknowledged events; want 1", n)
				}
			}},
		{name: "no such incident", text: "ack INC-99", typ: "ephemeral", reply: []string{"no incident INC-99"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSlackFixture(t, nil)
			inc := f.declare("payments", "UCMDR")
			if tc.name == "already acknowledged" {
				if _, err := f.svc.Ack(context.Background(), inc.ID, "UCMDR"); err != nil {
					t.Fatal(err)
				}
			}
			text := strings.Replace(tc.text, "%s", inc.ID, 1)
			msg := f.command("UALICE", "CGENERAL", text)
			if msg.ResponseType != tc.typ {
				t.Errorf("response_type %q; want %q", msg.ResponseType, tc.typ)
			}
			for _, want := range tc.reply {
				if !strings.Contains(msg.Text, want) {
					t.Errorf("reply %q\nwant it to contain %q", msg.Text, want)
				}
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

// stateBy checks that INC-1 is in state with one event of kind by actor.
func stateBy(state incident.State, kind incident.EventKind, actor string) func(*testing.T, *slackFixture) {
	return func(t *testing.T, f *slackFixture) {
		t.Helper()
		if got := f.incident("INC-1").State; got != state {
			t.Errorf("state %s; want %s", got, state)
		}
		if ev := f.events("INC-1", kind); len(ev) != 1 || ev[0].Actor != actor {
			t.Errorf("%s events %+v; want one by %s", kind, ev, actor)
		}
	}
}

func TestSlackCommandInWarRoomImpliesIncident(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, nil)
	f.declare("payments", "UCMDR")        // INC-1
	other := f.declare("search", "UCMDR") // INC-2
	f.room(other.ID, "CROOM2")

	if msg := f.command("UALICE", "CROOM2", "ack"); !strings.Contains(msg.Text, "acknowledged *INC-2*") {
		t.Errorf("ack in the war room: %q", msg.Text)
	}
	// A bare number in a war room is text, not an ID.
	f.command("UALICE", "CROOM2", "note 3 pods restarted")
	if ev := f.events("INC-2", incident.EventNote); len(ev) != 1 || ev[0].Text != "3 pods restarted" {
		t.Errorf("notes of INC-2: %+v; want \"3 pods restarted\"", ev)
	}
	// An explicit INC-n names another incident.
	if msg := f.command("UALICE", "CROOM2", "ack inc-1"); !strings.Contains(msg.Text, "acknowledged *INC-1*") {
		t.Errorf("ack inc-1 in INC-2's room: %q", msg.Text)
	}
	if got := f.incident("INC-2").State; got != incident.Acknowledged {
		t.Errorf("INC-2 state %s; want acknowledged", got)
	}
	if got := f.incident("INC-1").State; got != incident.Acknowledged {
		t.Errorf("INC-1 state %s; want acknowledged", got)
	}
}

func TestSlackCommandIDForms(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"INC-1", "inc-1", "1"} {
		t.Run(arg, func(t *testing.T) {
			f := newSlackFixture(t, nil)
			f.declare("payments", "UCMDR")
			if msg := f.command("UALICE", "CGENERAL", "mitigate "+arg); msg.ResponseType != "in_channel" {
				t.Errorf("mitigate %s: %+v", arg, msg)
			}
			if got := f.incident("INC-1").State; got != incident.Mitigated {
				t.Errorf("state %s; want mitigated", got)
			}
		})
	}
}

func TestSlackCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		{"ack", "Usage: `/warroom ack [INC-n]`"}, // outside a war room the ID is needed
		{"assign INC-1 <@UBOB|bob> boss", "Usage: `/warroom assign [INC-n] <@user> <commander|comms|scribe>`"},
		{"assign INC-1 bob commander", "not a user mention"},
		{"assign INC-1 <@UBOB>", "Usage: `/warroom assign"},
		{"note INC-1", "a note needs text"},
		{"declare checkout", "Usage: `/warroom declare <service> <summary>`"},
		{"ack INC-1 now", "Usage: `/warroom ack"},
		{"status INC-x1", "is not an incident ID"},
		{"ack INC-0", "is not an incident ID"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			f := newSlackFixture(t, nil)
			f.declare("payments", "UCMDR")
			before := len(f.timeline("INC-1"))
			msg := f.command("UALICE", "CGENERAL", tc.text)
			if msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, tc.want) {
				t.Errorf("reply %+v; want ephemeral containing %q", msg, tc.want)
			}
			if got := len(f.timeline("INC-1")); got != before {
				t.Errorf("timeline grew from %d to %d", before, got)
			}
		})
	}
}

func TestSlackPermissions(t *testing.T) {
	t.Parallel()
	perms := map[string][]string{
		"resolve":  {"@sre-oncall", "commander"},
		"ack":      {"UALICE", "UCAROL"},
		"declare":  {"@incident-managers"},
		"timeline": {},
	}
	tests := []struct {
		name, user, text string
		allowed          bool
		refusal          string
	}{
		{"listed user", "UALICE", "ack INC-1", true, ""},
		{"unlisted user", "UBOB", "ack INC-1", false, "Only <@UALICE> or <@UCAROL> may ack INC-1."},
		{"group member", "UONCALL", "resolve INC-1", true, ""},
		{"commander", "UCMDR", "resolve INC-1", true, ""},
		{"neither", "UBOB", "resolve INC-1", false, "Only @sre-oncall or the incident commander may resolve INC-1."},
		{"unknown group", "UBOB", "declare checkout broken", false, "Only @incident-managers may declare. (Could not check the members of @incident-managers; try again.)"},
		{"empty list", "UALICE", "timeline INC-1", false, "Nobody may timeline INC-1 (slack.permissions.timeline is empty)."},
		{"open action", "UBOB", "mitigate INC-1", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSlackFixture(t, perms)
			f.dir.groups["sre-oncall"] = []string{"UONCALL", "UOTHER"}
			f.declare("payments", "UCMDR")
			before := len(f.timeline("INC-1"))
			msg := f.command(tc.user, "CGENERAL", tc.text)
			grew := len(f.timeline("INC-1")) > before || strings.HasPrefix(tc.text, "declare") && msg.ResponseType == "in_channel"
			if tc.allowed {
				if msg.ResponseType != "in_channel" || !grew {
					t.Errorf("allowed %s: reply %+v; want it done", tc.user, msg)
				}
				return
			}
			if msg.ResponseType != "ephemeral" || msg.Text != tc.refusal {
				t.Errorf("refused %s: reply %+v\nwant ephemeral %q", tc.user, msg, tc.refusal)
			}
			if grew {
				t.Error("a refused command changed the timeline")
			}
		})
	}
}

func TestSlackPermissionGroupCache(t *testing.T) {
	t.Parallel()
	f := newSlackFixture(t, map[string][]string{"note": {"@sre-oncall"}})
	f.dir.groups["sre-oncall"] = []string{"UONCALL"}
	f.declare("payments", "UCMDR")
	for range 3 {
		f.command("UONCALL", "CGENERAL", "note INC-1 still looking")
	}
	if n := len(f.events("INC-1", incident.EventNote)); n != 3 {
		t.Errorf("%d notes; want 3", n)
	}
	if n := f.dir.lookups("sre-oncall"); n != 1 {
		t.Errorf("%d directory lookups; want 1 (cached for a minute)", n)
	}
	f.dir.err = errors.New("slack down")
	f.bot.groups.m = map[string]groupEntry{} // expired
	if msg := f.command("UONCALL", "CGENERAL", "note INC-1 again"); !strings.Contains(msg.Text, "Could not check the members of @sre-oncall") {
		t.Errorf("with the directory down: %q", msg.Text)
	}
}

func TestSlackPlain(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"ping <@U123|alice> and <@U456>", "ping @alice and @U456"},
		{"see <#C1|ops> or <!here>", "see #ops or @here"},
		{"<!subteam^S1|@sre-oncall> look", "@sre-oncall look"},
		{"<https://grafana.example/d/x|board> and <https://x.example>", "board (https://grafana.example/d/x) and https://x.example"},
		{"a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"},
		{"&amp;lt;", "&lt;"},
	}
	for _, tc := range tests {
		if got := slackPlain(tc.in); got != tc.want {
			t.Errorf("slackPlain(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, id string
		ok     bool
	}{
		{"<@U123|alice>", "U123", true},
		{"<@W9ABC>", "W9ABC", true},
		{"U123", "U123", true},
		{"@alice", "", false},
		{"<@U123|alice", "", false},
		{"<#C123|ops>", "", false},
		{"<@u123>", "", false},
	}
	for _, tc := range tests {
		if id, ok := parseMention(tc.in); id != tc.id || ok != tc.ok {
			t.Errorf("parseMention(%q) = %q, %v; want %q, %v", tc.in, id, ok, tc.id, tc.ok)
		}
	}
}
