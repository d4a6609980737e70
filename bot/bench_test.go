package bot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/internal/loadgen"
	"github.com/warroom/warroom/internal/pgtest"
)

// BenchmarkIntake measures webhooks answered per second and the answer
// latency of a whole warroom over HTTP on loopback, load generator in the
// same process (so on the same 2 cores). Every 200 is durable: SQLite runs
// WAL with synchronous=FULL, PostgreSQL with its default fsync on commit.
//
//	go test ./bot -run '^$' -bench Intake -benchtime 20000x
func BenchmarkIntake(b *testing.B) {
	cases := []struct{ alerts, inflight int }{{1, 16}, {1, 32}, {1, 64}, {100, 8}}
	for _, driver := range []string{"sqlite", "postgres"} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/alerts=%d/inflight=%d", driver, c.alerts, c.inflight), func(b *testing.B) {
				h := startOn(b, nil, func(cfg *config.Config) { // the real clock: it measures throughput
					cfg.Storage.Driver = driver
					if driver == "postgres" {
						cfg.Storage.DSN = pgtest.Fresh(b)
					}
				})
				o := loadgen.Options{URL: h.base + "/api/v1/alerts/alertmanager", Token: testToken,
					Concurrency: c.inflight, Requests: b.N, Duration: 5 * time.Minute, Alerts: c.alerts, Services: benchServices,
					Value: 0.031, Seed: fmt.Sprint(time.Now().UnixNano())}
				b.ResetTimer()
				res, err := loadgen.Run(context.Background(), o)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Statuses[200] != res.Requests || res.Errors > 0 {
					b.Fatalf("not every webhook was stored: %s", res)
				}
				b.ReportMetric(res.PerSecond, "webhooks/s")
				b.ReportMetric(res.AlertsPS, "alerts/s")
				b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// benchServices is how many services (incident keys) the load spreads
// over: 50 by default, WARROOM_BENCH_SERVICES to change.
var benchServices = func() int {
	if n, err := strconv.Atoi(os.Getenv("WARROOM_BENCH_SERVICES")); err == nil && n > 0 {
		return n
	}
	return 50
}()

// BenchmarkIntakeTracing is BenchmarkIntake's SQLite shape with tracing
// off and on (spans sent over OTLP/HTTP to a receiver that drops them):
// off must cost nothing beside BenchmarkIntake, on is the price of
// tracing.
//
//	go test ./bot -run '^$' -bench IntakeTracing -benchtime 20000x
func BenchmarkIntakeTracing(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(sink.Close)
	for _, tracing := range []bool{false, true} {
		b.Run(fmt.Sprintf("tracing=%v", tracing), func(b *testing.B) {
			env := map[string]string{}
			if tracing {
				env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.URL
			}
			h := startWith(b, nil, bot.Deps{Getenv: func(k string) string { return env[k] }}, nil)
			o := loadgen.Options{URL: h.base + "/api/v1/alerts/alertmanager", Token: testToken,
				Concurrency: 32, Requests: b.N, Duration: 5 * time.Minute, Alerts: 1, Services: benchServices,
				Value: 0.031, Seed: fmt.Sprint(time.Now().UnixNano())}
			b.ResetTimer()
			res, err := loadgen.Run(context.Background(), o)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.Statuses[200] != res.Requests || res.Errors > 0 {
				b.Fatalf("not every webhook was stored: %s", res)
			}
			b.ReportMetric(res.PerSecond, "webhooks/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
		})
	}
}
