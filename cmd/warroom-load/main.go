// Command warroom-load sends a bounded stream of Alertmanager webhooks to a
// running warroom (on this machine) and prints the rate and latency
// percentiles. See BENCHMARKS.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/warroom/warroom/internal/loadgen"
)

func main() {
	var o loadgen.Options
	var asJSON bool
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:9095/api/v1/alerts/alertmanager", "webhook URL")
	flag.StringVar(&o.Token, "token", os.Getenv("WARROOM_TOKEN"), "bearer token (default $WARROOM_TOKEN)")
	flag.IntVar(&o.Concurrency, "c", 64, "requests in flight")
	flag.IntVar(&o.Requests, "n", 50000, "requests to send (0: until -d)")
	flag.DurationVar(&o.Duration, "d", 30*time.Second, "upper bound on the run")
	flag.IntVar(&o.Alerts, "alerts", 1, "alerts per webhook")
	flag.IntVar(&o.Services, "services", 50, "distinct services")
	flag.Float64Var(&o.Value, "value", 0.031, "error_rate annotation of every alert")
	flag.BoolVar(&asJSON, "json", false, "print the result as JSON")
	var commands string
	var rate int
	flag.StringVar(&commands, "slack-commands", "", "send signed /warroom commands instead of webhooks: the texts, separated by ';' (-url is /slack/commands; secret from $SLACK_SIGNING_SECRET)")
	flag.IntVar(&rate, "rate", 200, "commands a second, with -slack-commands")
	var jiraSink string
	flag.StringVar(&jiraSink, "jira-sink", "", "instead of sending, serve a Jira that answers at once on this address (for a peer receiver under scripts/bench storm)")
	var fsyncProbe string
	flag.StringVar(&fsyncProbe, "fsync-probe", "", "instead of sending, fsync 4 KiB in this file every 20 ms for -d and print the slowest fsync")
	flag.Parse()
	if fsyncProbe != "" {
		ctx, stop := context.WithTimeout(context.Background(), o.Duration)
		defer stop()
		slowest, over, err := loadgen.FsyncProbe(ctx, fsyncProbe)
		if err != nil {
			fmt.Fprintln(os.Stderr, "warroom-load:", err)
			os.Exit(1)
		}
		fmt.Printf("slowest fsync %s, %d over 20 ms\n", slowest.Round(100*time.Microsecond), over)
		return
	}
	if jiraSink != "" {
		srv := &http.Server{Addr: jiraSink, Handler: &loadgen.JiraSink{}, ReadHeaderTimeout: 5 * time.Second}
		if err := srv.ListenAndServe(); err != nil {
			fmt.Fprintln(os.Stderr, "warroom-load:", err)
			os.Exit(1)
		}
		return
	}
	if commands != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		res, err := loadgen.RunCommands(ctx, loadgen.CommandOptions{URL: o.URL, SigningSecret: os.Getenv("SLACK_SIGNING_SECRET"),
			Rate: rate, Duration: o.Duration, Texts: strings.Split(commands, ";")})
		if err != nil {
			fmt.Fprintln(os.Stderr, "warroom-load:", err)
			os.Exit(1)
		}
		fmt.Printf("%d commands in %s: %.0f/s, p50 %s, p99 %s, max %s, statuses %v, errors %d\n", res.Requests,
			res.Elapsed.Round(time.Millisecond), res.PerSecond, res.P50.Round(10*time.Microsecond),
			res.P99.Round(10*time.Microsecond), res.Max.Round(10*time.Microsecond), res.Statuses, res.Errors)
		return
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	o.Seed = hex.EncodeToString(b[:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "warroom-load:", err)
		os.Exit(1)
	}
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Println(res)
}
