package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

// client talks to a running warroom's JSON API.
type client struct {
	base  string
	token string
	// unauthorized is what to do about a 401: which variable to set.
	unauthorized string
	http         *http.Client
}

func newClient(server string) *client {
	if server == "" {
		server = os.Getenv("WARROOM_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:9095"
	}
	c := &client{base: strings.TrimRight(server, "/"), token: os.Getenv("WARROOM_TOKEN"), http: &http.Client{Timeout: 15 * time.Second}}
	c.unauthorized = "set WARROOM_TOKEN to the server's API token (api.bearer_token, else the webhook's)"
	if c.token != "" {
		c.unauthorized = "WARROOM_TOKEN does not hold the server's API token (api.bearer_token, else the webhook's)"
	}
	return c
}

// do sends a request and decodes the answer into out. Every 2xx is a
// success (201: a deploy recorded for the first time). A failure says
// what to do about it: where the server is looked for, which variable
// holds the token.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("server %q: %w; set --server or WARROOM_SERVER to warroom's URL", c.base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach warroom at %s (%w); is warroom serve running? set --server or WARROOM_SERVER", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		if text, ok := out.(*string); ok { // an answer that is not JSON (the postmortem's Markdown)
			*text = string(data)
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not warroom's JSON: %w", method, path, err)
		}
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := fmt.Sprintf("%s %s: HTTP %d", method, path, resp.StatusCode)
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		msg += "; " + c.unauthorized
	}
	return errors.New(msg)
}

// whoami names the person at the terminal for the timeline: $USER, else
// the OS's name for the user, else the host's name.
func whoami(getenv func(string) string, current func() (*user.User, error), hostname func() (string, error)) string {
	if u := strings.TrimSpace(getenv("USER")); u != "" {
		return u
	}
	if u, err := current(); err == nil && strings.TrimSpace(u.Username) != "" {
		return strings.TrimSpace(u.Username)
	}
	if h, err := hostname(); err == nil && h != "" {
		return h
	}
	return "unknown"
}

// incidentCommands drive a running server's incidents.
var incidentCommands = []command{
	{name: "list", args: "[--all] [--state S] [--service S] [--storm ID] [-o json]", summary: "list the war rooms and the storms' incidents (--all: recorded incidents too; --storm: one storm's)", run: listIncidents},
	{name: "show", args: "ID [--timeline-after EVENT] [-o json]", summary: "show an incident: its state, alerts and timeline", run: incidentAction("show")},
	{name: "ack", args: "ID [--actor NAME]", summary: "acknowledge an incident", run: incidentAction("ack")},
	{name: "mitigate", args: "ID [--actor NAME]", summary: "mark an incident mitigated", run: incidentAction("mitigate")},
	{name: "resolve", args: "ID [-m SUMMARY] [--actor NAME]", summary: "resolve an incident", run: incidentAction("resolve")},
	{name: "note", args: "ID TEXT… [--jira] [--actor NAME]", summary: "add a note to an incident's timeline (--jira: and to its ticket)", run: incidentAction("note")},
	{name: "assign", args: "ID USER commander|comms|scribe [--actor NAME]", summary: "give a responder a role", run: incidentAction("assign")},
	{name: "severity", args: "ID critical|major|minor [--actor NAME]", summary: "change an incident's severity (the topic, the ticket's priority and the summary follow)", run: incidentAction("severity")},
	{name: "followup", args: "ID TEXT… [--actor NAME] [--server URL]", summary: "ask for a follow-up: a Jira issue linked to the incident's ticket", run: incidentAction("followup")},
}

// clientFlags are the flags of every command that talks to a server.
func clientFlags(fs *flag.FlagSet) (server, output *string) {
	server = fs.String("server", "", "warroom's `URL` (default $WARROOM_SERVER, else http://127.0.0.1:9095)")
	output = fs.String("o", "table", "output `FORMAT`: table or json")
	return server, output
}

func listIncidents(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("incidents list")
	server, output := clientFlags(fs)
	all := fs.Bool("all", false, "include recorded (below-threshold) incidents and closed ones")
	state := fs.String("state", "", "only incidents in `STATE` (triggered, acknowledged, mitigated, resolved)")
	service := fs.String("service", "", "only incidents of `SERVICE`")
	storm := fs.String("storm", "", "only the incidents that joined the storm `ID`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: incidents list takes no arguments", errUsage)
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
	q := url.Values{}
	if *all {
		q.Set("all", "true")
	}
	if *state != "" {
		q.Set("state", *state)
	}
	if *service != "" {
		q.Set("service", *service)
	}
	if *storm != "" {
		q.Set("storm", *storm)
	}
	var out struct {
		Incidents   []*incident.Incident `json:"incidents"`
		SlackDryRun bool                 `json:"slack_dry_run"`
		JiraDryRun  bool                 `json:"jira_dry_run"`
	}
	if err := newClient(*server).do(ctx, http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if *output == "json" {
		return printJSON(c.stdout, out)
	}
	return printList(c.stdout, out.Incidents, out.SlackDryRun)
}

// incidentAction runs show or an action on one incident and prints the
// incident as it is after it.
func incidentAction(action string) func(ctx context.Context, c *cli, args []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		fs := newFlags("incidents " + action)
		server, output := clientFlags(fs)
		var actor, text *string
		var after *int64
		var jira *bool
		switch action {
		case "show":
			after = fs.Int64("timeline-after", 0, "the timeline after the event `ID` (the next page)")
		default:
			actor = fs.String("actor", "", "who is acting, `NAME` (default $USER, else the OS user, else the host name)")
		}
		switch action {
		case "resolve":
			text = fs.String("m", "", "a `SUMMARY` of the resolution")
		case "note":
			jira = fs.Bool("jira", false, "also comment on the incident's Jira ticket")
		}
		rest, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if err := oneOf(*output, "table", "json"); err != nil {
			return err
		}
		want := map[string]string{"note": "an incident ID and the note's text", "assign": "an incident ID, a user and a role",
			"severity": "an incident ID and a level", "followup": "an incident ID and the follow-up's text"}[action]
		switch {
		case len(rest) == 0:
			return fmt.Errorf("%w: incidents %s takes %s", errUsage, action, cmp.Or(want, "one incident ID"))
		case action == "note" && len(rest) < 2:
			return fmt.Errorf("%w: incidents note takes %s", errUsage, want)
		case action == "followup" && len(rest) < 2:
			return fmt.Errorf("%w: incidents followup takes %s", errUsage, want)
		case action == "followup":
			if _, err := incident.CleanFollowupText(strings.Join(rest[1:], " ")); err != nil {
				return fmt.Errorf("%w: incidents followup: %s", errUsage, incident.ErrorMessage(err))
			}
		case action == "assign" && len(rest) != 3:
			return fmt.Errorf("%w: incidents assign takes %s (commander, comms or scribe)", errUsage, want)
		case action == "severity" && len(rest) != 2:
			return fmt.Errorf("%w: incidents severity takes %s (critical, major or minor)", errUsage, want)
		case action == "severity":
			if _, err := incident.ParseSeverityLevel(rest[1]); err != nil {
				return fmt.Errorf("%w: incidents severity: %s", errUsage, incident.ErrorMessage(err))
			}
		case want == "" && len(rest) != 1:
			return fmt.Errorf("%w: incidents %s takes one incident ID", errUsage, action)
		}
		id, err := incident.ParseID(rest[0])
		if err != nil {
			return err
		}
		cl := newClient(*server)
		var v httpapi.IncidentView
		if action == "show" {
			path := "/api/v1/incidents/" + id
			if *after > 0 {
				path += "?timeline_after=" + strconv.FormatInt(*after, 10)
			}
			err = cl.do(ctx, http.MethodGet, path, nil, &v)
		} else {
			who := *actor
			if who == "" {
				who = whoami(os.Getenv, user.Current, os.Hostname)
			}
			body := map[string]any{"actor": "cli:" + who}
			switch action {
			case "resolve":
				body["text"] = *text
			case "note":
				body["text"], body["jira"] = strings.Join(rest[1:], " "), *jira
			case "assign":
				body["user"], body["role"] = rest[1], rest[2]
			case "severity":
				body["severity"] = rest[1]
			case "followup":
				body["text"] = strings.Join(rest[1:], " ")
			}
			path := action
			if action == "followup" {
				path = "followups" // the API's collection
			}
			err = cl.do(ctx, http.MethodPost, "/api/v1/incidents/"+id+"/"+path, body, &v)
		}
		if err != nil {
			return err
		}
		if *output == "json" {
			return printJSON(c.stdout, v)
		}
		return printView(c.stdout, &v)
	}
}

// dryRunMark follows what a dry run only names: a war room that was
// never made, a ticket never filed.
const dryRunMark = " (dry run)"

func printList(w io.Writer, list []*incident.Incident, slackDryRun bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSERVICE\tENV\tSEVERITY\tVALUE\tWAR ROOM\tOPENED\tTITLE")
	for _, inc := range list {
		room := "-"
		switch {
		case inc.WarRoom:
			room = "#" + inc.SlackChannel
			if slackDryRun {
				room += dryRunMark
			}
		case inc.Storm != "":
			room = "storm " + inc.Storm
		}
		// Service, env, severity, title and channel come from alert
		// content: one inert cell each (no escape sequence, no fake row).
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.State, cell(inc.Service), cell(inc.Env), cell(string(inc.Severity)),
			value(inc.Unit, inc.Value), cell(room), inc.OpenedAt.Local().Format("2006-01-02 15:04"), cell(inc.Title))
	}
	if len(list) == 0 {
		fmt.Fprintln(tw, "(no incidents)")
	}
	return tw.Flush()
}

// value renders v in the incident's unit, "-" when unknown.
func value(u incident.Unit, v *float64) string {
	if v == nil {
		return "-"
	}
	return u.Format(*v)
}

func printView(w io.Writer, v *httpapi.IncidentView) error {
	inc := v.Incident
	fmt.Fprintf(w, "%s  %s\n", inc.ID, cell(inc.Title))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "state\t%s\nservice\t%s (%s)\nseverity\t%s\nrule\t%s\nvalue\t%s (peak %s, threshold %s)\nopened\t%s\n",
		inc.State, cell(inc.Service), cell(inc.Env), cell(string(inc.Severity)), cell(inc.Rule), value(inc.Unit, inc.Value), value(inc.Unit, inc.PeakValue), value(inc.Unit, inc.Threshold),
		inc.OpenedAt.Local().Format(time.RFC3339))
	if inc.WarRoom {
		mark := ""
		if v.SlackDryRun {
			mark = dryRunMark
		}
		fmt.Fprintf(tw, "war room\t#%s%s\n", inc.SlackChannel, mark)
	}
	switch {
	case inc.IsStorm():
		fmt.Fprintf(tw, "storm\t%d incidents joined (warroom incidents list --storm %s)\n", len(inc.Children), inc.ID)
		if len(inc.Linked) > 0 {
			fmt.Fprintf(tw, "linked\t%s\n", strings.Join(inc.Linked, ", "))
		}
	case inc.Storm != "":
		fmt.Fprintf(tw, "storm\t%s: its war room is the storm's\n", inc.Storm)
	}
	switch {
	case inc.JiraKey != "":
		fmt.Fprintf(tw, "jira\t%s\n", inc.JiraKey)
	case inc.WarRoom && v.JiraDryRun:
		fmt.Fprintf(tw, "jira\t(dry run: no ticket filed)\n")
	}
	for _, role := range []struct{ name, who string }{{"commander", inc.Commander}, {"comms", inc.Comms}, {"scribe", inc.Scribe}} {
		if role.who != "" {
			fmt.Fprintf(tw, "%s\t%s\n", role.name, role.who)
		}
	}
	if inc.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s\n", inc.LastError)
	}
	tw.Flush()
	if v.AlertsTruncated {
		fmt.Fprintf(w, "\nALERTS (%d of %d, firing first)\n", len(v.Alerts), v.AlertsTotal)
	} else {
		fmt.Fprintf(w, "\nALERTS (%d)\n", len(v.Alerts))
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range v.Alerts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", cell(a.Fingerprint), cell(string(a.Status)), cell(a.Labels["alertname"]), value(inc.Unit, a.Value))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nTIMELINE\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range v.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Local().Format("15:04:05"), e.Kind, cell(e.Actor), cell(e.Text))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.TimelineNext != 0 {
		fmt.Fprintf(w, "  … more: warroom incidents show %s --timeline-after %d\n", inc.ID, v.TimelineNext)
	}
	return nil
}
