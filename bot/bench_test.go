package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warroom/warroom/bot"
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
	for _, driver := range []string{"sqlite", "postgres"} {
		for _, alerts := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/alerts=%d", driver, alerts), func(b *testing.B) {
				h := start(b, func(c *bot.Config) {
					c.Storage.Driver = driver
					if driver == "postgres" {
						c.Storage.DSN = pgtest.Fresh(b)
					}
				})
				o := loadgen.Options{URL: h.base + "/api/v1/alerts/alertmanager", Token: testToken,
					Concurrency: 64, Requests: b.N, Duration: 5 * time.Minute, Alerts: alerts, Services: 50,
					Value: 0.031, Seed: fmt.Sprint(time.Now().UnixNano())}
				if alerts > 1 {
					o.Concurrency = 8
				}
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
