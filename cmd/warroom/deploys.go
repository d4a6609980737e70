package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/incident"
)

// deploys records a deploy (from a CI pipeline or a runbook) or lists
// them, against a running warroom.
func deploys(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: deploys needs record or list", errUsage)
	}
	sub := args[0]
	fs := newFlags("deploys " + sub)
	server := fs.String("server", "", "server URL (default $WARROOM_SERVER or http://127.0.0.1:9095)")
	output := fs.String("o", "table", "output: table or json")
	service := fs.String("service", "", "the service deployed (record: required; list: only this one)")
	env := fs.String("env", "", "the environment")
	sha := fs.String("sha", "", "record: the revision deployed (Git SHA)")
	previous := fs.String("previous-sha", "", "record: the revision it replaced")
	version := fs.String("version", "", "record: the version deployed")
	author := fs.String("author", os.Getenv("USER"), "record: who deployed")
	link := fs.String("url", "", "record: a link to the pipeline run or release")
	finished := fs.String("finished-at", "", "record: when it finished, RFC 3339 (default now)")
	limit := fs.Int("limit", 20, "list: at most this many")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: deploys %s takes flags only", errUsage, sub)
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
	c := newClient(*server)
	switch sub {
	case "record":
		// A CI pipeline holds the deploy token (deploys.bearer_token),
		// which need not be the API's.
		if tok := os.Getenv("WARROOM_DEPLOY_TOKEN"); tok != "" {
			c.token = tok
		}
		req := map[string]any{"service": *service, "env": *env, "sha": *sha, "previous_sha": *previous,
			"version": *version, "author": *author, "url": *link}
		if *finished != "" {
			t, err := time.Parse(time.RFC3339, *finished)
			if err != nil {
				return fmt.Errorf("%w: --finished-at %q: want RFC 3339, e.g. 2026-11-26T04:12:00Z", errUsage, *finished)
			}
			req["finished_at"] = t
		}
		var out struct {
			Deploy   incident.Deploy `json:"deploy"`
			Recorded bool            `json:"recorded"`
		}
		if err := c.do(ctx, http.MethodPost, "/api/v1/deploys", req, &out); err != nil {
			return err
		}
		if *output == "json" {
			return printJSON(stdout, out)
		}
		verb := "recorded"
		if !out.Recorded {
			verb = "already recorded"
		}
		fmt.Fprintf(stdout, "%s: %s %s %s at %s\n", verb, out.Deploy.Service, out.Deploy.Env, incident.ShortSHA(out.Deploy.SHA),
			out.Deploy.FinishedAt.UTC().Format(time.RFC3339))
		return nil
	case "list":
		q := url.Values{}
		if *service != "" {
			q.Set("service", *service)
		}
		if *env != "" {
			q.Set("env", *env)
		}
		q.Set("limit", fmt.Sprint(*limit))
		var out struct {
			Deploys []incident.Deploy `json:"deploys"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/deploys?"+q.Encode(), nil, &out); err != nil {
			return err
		}
		if *output == "json" {
			return printJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FINISHED\tSERVICE\tENV\tSHA\tAUTHOR\tSOURCE")
		for _, d := range out.Deploys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.FinishedAt.UTC().Format(time.RFC3339), d.Service, d.Env,
				incident.ShortSHA(d.SHA), d.Author, d.Source)
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w: deploys needs record or list, not %q", errUsage, sub)
}
