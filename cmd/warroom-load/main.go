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
	"os"
	"os/signal"
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
	flag.Parse()
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
