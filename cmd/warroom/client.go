package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
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
	http  *http.Client
}

func newClient(server string) *client {
	if server == "" {
		server = os.Getenv("WARROOM_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:9095"
	}
	return &client{base: strings.TrimRight(server, "/"), token: os.Getenv("WARROOM_TOKEN"), http: &http.Client{Timeout: 15 * time.Second}}
}

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
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	// 201 Created is a success too (a deploy recorded for the first time).
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return json.Unmarshal(data, out)
}

func incidents(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: incidents needs list, show, ack or resolve", errUsage)
	}
	sub := args[0]
	fs := newFlags("incidents " + sub)
	server := fs.String("server", "", "server URL (default $WARROOM_SERVER or http://127.0.0.1:9095)")
	output := fs.String("o", "table", "output: table or json")
	all := fs.Bool("all", false, "list: include recorded (below-threshold) incidents")
	state := fs.String("state", "", "list: only this state")
	service := fs.String("service", "", "list: only this service")
	actor := fs.String("actor", os.Getenv("USER"), "ack/resolve: who is acting")
	text := fs.String("m", "", "resolve: summary")
	after := fs.Int64("timeline-after", 0, "show: the timeline after this event ID (the next page)")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
	c := newClient(*server)
	switch sub {
	case "list":
		if len(rest) != 0 {
			return fmt.Errorf("%w: incidents list takes no arguments", errUsage)
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
		var out struct {
			Incidents []*incident.Incident `json:"incidents"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil, &out); err != nil {
			return err
		}
		if *output == "json" {
			return printJSON(stdout, out)
		}
		return printList(stdout, out.Incidents)
	case "show", "ack", "resolve":
		if len(rest) != 1 {
			return fmt.Errorf("%w: incidents %s takes one incident ID", errUsage, sub)
		}
		id, err := incident.ParseID(rest[0])
		if err != nil {
			return err
		}
		var v httpapi.IncidentView
		if sub == "show" {
			path := "/api/v1/incidents/" + id
			if *after > 0 {
				path += "?timeline_after=" + strconv.FormatInt(*after, 10)
			}
			err = c.do(ctx, http.MethodGet, path, nil, &v)
		} else {
			err = c.do(ctx, http.MethodPost, "/api/v1/incidents/"+id+"/"+sub, map[string]string{"actor": "cli:" + *actor, "text": *text}, &v)
		}
		if err != nil {
			return err
		}
		if *output == "json" {
			return printJSON(stdout, v)
		}
		return printView(stdout, &v)
	}
	return fmt.Errorf("%w: unknown incidents subcommand %q", errUsage, sub)
}

func printList(w io.Writer, list []*incident.Incident) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSERVICE\tENV\tSEVERITY\tVALUE\tWAR ROOM\tOPENED\tTITLE")
	for _, inc := range list {
		room := "-"
		if inc.WarRoom {
			room = "#" + inc.SlackChannel
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.State, inc.Service, inc.Env, inc.Severity,
			value(inc.Unit, inc.Value), room, inc.OpenedAt.Local().Format("2006-01-02 15:04"), inc.Title)
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
	fmt.Fprintf(w, "%s  %s\n", inc.ID, inc.Title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "state\t%s\nservice\t%s (%s)\nseverity\t%s\nrule\t%s\nvalue\t%s (peak %s, threshold %s)\nopened\t%s\n",
		inc.State, inc.Service, inc.Env, inc.Severity, inc.Rule, value(inc.Unit, inc.Value), value(inc.Unit, inc.PeakValue), value(inc.Unit, inc.Threshold),
		inc.OpenedAt.Local().Format(time.RFC3339))
	if inc.WarRoom {
		fmt.Fprintf(tw, "war room\t#%s\n", inc.SlackChannel)
	}
	if inc.JiraKey != "" {
		fmt.Fprintf(tw, "jira\t%s\n", inc.JiraKey)
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Fingerprint, a.Status, a.Labels["alertname"], value(inc.Unit, a.Value))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nTIMELINE\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range v.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Local().Format("15:04:05"), e.Kind, e.Actor, e.Text)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.TimelineNext != 0 {
		fmt.Fprintf(w, "  … more: warroom incidents show %s --timeline-after %d\n", inc.ID, v.TimelineNext)
	}
	return nil
}
