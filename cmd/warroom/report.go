package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

// report prints what the incidents opened within a window teach, per
// service: a table for people, -o json (the API's answer) for scripts.
func report(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("report")
	server, output := clientFlags(fs)
	since := fs.String("since", "30d", "the incidents opened within `WINDOW`: days (30d) or a Go duration (36h, 90m)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: report takes no arguments", errUsage)
	}
	if err := oneOf(*output, "table", "json"); err != nil {
		return err
	}
	if _, err := incident.ParseReportWindow(*since); err != nil {
		return fmt.Errorf("%w: --since %s", errUsage, incident.ErrorMessage(err))
	}
	var out httpapi.ReportView
	if err := newClient(*server).do(ctx, http.MethodGet, "/api/v1/report?"+url.Values{"since": {*since}}.Encode(), nil, &out); err != nil {
		return err
	}
	if *output == "json" {
		return printJSON(c.stdout, out)
	}
	return printReport(c.stdout, &out)
}

// printReport prints the report as a table: a row per service, then
// every service together. The times are the war rooms' (median and 90th
// percentile); UNACKED and OPEN count the war rooms they leave out.
func printReport(w io.Writer, v *httpapi.ReportView) error {
	fmt.Fprintf(w, "Incidents opened in the last %s (since %s)\n\n", v.Window, v.Since.Local().Format("2006-01-02 15:04"))
	if v.Report == nil || len(v.Services) == 0 {
		fmt.Fprintln(w, "(no incidents)")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tINCIDENTS\tWAR ROOMS\tIN STORMS\tRECORDED\tRECORDED ALERTS\tACK p50\tACK p90\tUNACKED\tRESOLVE p50\tRESOLVE p90\tOPEN\tROLLED BACK")
	row := func(name string, s incident.ServiceReport) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", name, s.Incidents, s.WarRooms, s.StormChildren,
			s.Recorded, s.RecordedAlerts, seconds(s.TimeToAcknowledge.Median), seconds(s.TimeToAcknowledge.P90), s.Unacknowledged,
			seconds(s.TimeToResolve.Median), seconds(s.TimeToResolve.P90), s.Unresolved, rolledBack(s))
	}
	for _, s := range v.Services {
		row(cell(s.Service), s)
	}
	if len(v.Services) > 1 {
		row("(all)", v.Total)
	}
	return tw.Flush()
}

// cell makes a value of alert content (a service is a label) one inert
// cell of the table: whitespace runs are one space, and control and format
// characters (terminal escapes, bidirectional overrides) are "?".
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, strings.Join(strings.Fields(s), " "))
}

// seconds renders a time of the report for people, "-" when none.
func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return render.HumanDuration(time.Duration(*s * float64(time.Second)))
}

// rolledBack is "1 of 2 (50%)", "-" when no incident had a suspect deploy.
func rolledBack(s incident.ServiceReport) string {
	if s.RollbackRate == nil {
		return "-"
	}
	return fmt.Sprintf("%d of %d (%.0f%%)", s.RolledBack, s.SuspectDeploys, *s.RollbackRate*100)
}
