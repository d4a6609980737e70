package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/incident"
)

// deployCommands record a deploy (from a CI pipeline or a runbook) or list
// them, against a running warroom.
var deployCommands = []command{
	{name: "record", args: "--service S --sha SHA [--env E] [--previous-sha P] [--version V] [--author A] [--url U] [--finished-at T] [--id KEY] [-o json]",
		summary: "record a finished deploy; sent again (a retry), it is recorded once", run: recordDeploy},
	{name: "list", args: "[--service S] [--env E] [--limit N] [-o json]", summary: "list the recorded deploys, newest first", run: listDeploys},
}

func recordDeploy(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("deploys record")
	server, output := clientFlags(fs)
	service := fs.String("service", "", "the `SERVICE` deployed (required)")
	env := fs.String("env", "", "the environment, `ENV`")
	sha := fs.String("sha", "", "the revision deployed, a Git `SHA` (required unless --version)")
	previous := fs.String("previous-sha", "", "the revision it replaced, `SHA`")
	version := fs.String("version", "", "the `VERSION` deployed")
	author := fs.String("author", os.Getenv("USER"), "who deployed, `NAME`")
	link := fs.String("url", "", "a link to the pipeline run or release, `URL`")
	finished := fs.String("finished-at", "", "when it finished, RFC 3339 `TIME` such as 2026-11-26T04:12:00Z (default now)")
	key := fs.String("id", "", "an idempotency `KEY`, such as the CI run's ID: the deploy sent again with it is recorded once")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: deploys record takes flags only", errUsage)
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
	req := map[string]any{"service": *service, "env": *env, "sha": *sha, "previous_sha": *previous,
		"version": *version, "author": *author, "url": *link, "id": *key}
	if *finished != "" {
		t, err := time.Parse(time.RFC3339, *finished)
		if err != nil {
			return fmt.Errorf("%w: --finished-at %q: want RFC 3339, such as 2026-11-26T04:12:00Z", errUsage, *finished)
		}
		req["finished_at"] = t
	}
	cl := newClient(*server)
	// A CI pipeline holds the deploy token (deploys.bearer_token), which
	// need not be the API's.
	const deployToken = "the server's deploy token (deploys.bearer_token, else the webhook's)"
	switch tok := os.Getenv("WARROOM_DEPLOY_TOKEN"); {
	case tok != "":
		cl.token, cl.unauthorized = tok, "WARROOM_DEPLOY_TOKEN does not hold "+deployToken
	case cl.token != "":
		cl.unauthorized = "WARROOM_TOKEN was sent; set WARROOM_DEPLOY_TOKEN to " + deployToken
	default:
		cl.unauthorized = "set WARROOM_DEPLOY_TOKEN to " + deployToken
	}
	var out struct {
		Deploy   incident.Deploy `json:"deploy"`
		Recorded bool            `json:"recorded"`
	}
	if err := cl.do(ctx, http.MethodPost, "/api/v1/deploys", req, &out); err != nil {
		return err
	}
	if *output == "json" {
		return printJSON(c.stdout, out)
	}
	verb := "recorded"
	if !out.Recorded {
		verb = "already recorded"
	}
	d := out.Deploy
	fmt.Fprintf(c.stdout, "%s: %s %s %s at %s\n", verb, d.Service, d.Env, incident.ShortSHA(d.SHA), d.FinishedAt.UTC().Format(time.RFC3339))
	return nil
}

func listDeploys(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("deploys list")
	server, output := clientFlags(fs)
	service := fs.String("service", "", "only deploys of `SERVICE`")
	env := fs.String("env", "", "only deploys to `ENV`")
	limit := fs.Int("limit", 20, "at most `N` deploys")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: deploys list takes flags only", errUsage)
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
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
	if err := newClient(*server).do(ctx, http.MethodGet, "/api/v1/deploys?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if *output == "json" {
		return printJSON(c.stdout, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FINISHED\tSERVICE\tENV\tSHA\tAUTHOR\tSOURCE")
	for _, d := range out.Deploys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.FinishedAt.UTC().Format(time.RFC3339), d.Service, d.Env,
			incident.ShortSHA(d.SHA), d.Author, d.Source)
	}
	if len(out.Deploys) == 0 {
		fmt.Fprintln(tw, "(no deploys)")
	}
	return tw.Flush()
}
