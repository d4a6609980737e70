package bot_test

import (
	"context"
	"database/sql"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/loadgen"
	"github.com/warroom/warroom/internal/pgtest"
)

// BenchmarkJobDrain measures how fast the job worker drains a storm's
// steps when every outside API answers at once: b.N webhooks, each for a
// service of its own, so b.N war rooms (the caps on new war rooms at their
// highest, 1 000 a minute),
// against the strict Slack and Jira fakes in this process. It reports the
// steps run per second, from the first webhook to the last step done, and
// the CPU time per step (of the whole process: warroom, the fakes and the
// load generator).
//
//	go test ./bot -run '^$' -bench JobDrain -benchtime 200x
func BenchmarkJobDrain(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		for _, slackMode := range []string{"dryrun", "fake"} {
			b.Run(driver+"/slack="+slackMode, func(b *testing.B) {
				slack := slacktest.New()
				defer slack.Close()
				jira := jiratest.New()
				defer jira.Close()
				var dsn string
				h := startOn(b, nil, func(c *config.Config) { // the real clock: it measures the drain
					c.Storage.Driver = driver
					if driver == "postgres" {
						c.Storage.DSN = pgtest.Fresh(b)
					}
					dsn = c.Storage.DSN
					c.Limits.MaxNewWarRoomsPerDelivery, c.Limits.MaxNewWarRoomsPerMinute = 1000, 1000
					if slackMode == "fake" {
						c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slack.URL(), false
					}
					c.Jira.URL, c.Jira.DryRun = jira.URL(), false
					c.Jira.Auth.Email, c.Jira.Auth.APIToken = jiratest.DefaultEmail, jiratest.DefaultAPIToken
					c.Jira.Project, c.Jira.IssueType = "OPS", "Incident"
				})
				db, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver], dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				var before syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
				begin := time.Now()
				b.ResetTimer()
				res, err := loadgen.Run(context.Background(), loadgen.Options{URL: h.base + "/api/v1/alerts/alertmanager",
					Token: testToken, Concurrency: 8, Requests: b.N, Duration: 5 * time.Minute, Alerts: 1, Services: b.N,
					Value: 0.031, Seed: fmt.Sprint(time.Now().UnixNano())})
				if err != nil || res.Statuses[200] != res.Requests {
					b.Fatalf("the storm was not stored: %v %s", err, res)
				}
				var done, failed int
				for {
					var left int
					if err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE state NOT IN ('completed', 'failed')`).Scan(&left); err != nil {
						b.Fatal(err)
					}
					if left == 0 {
						break
					}
					if time.Since(begin) > 2*time.Minute {
						rows, _ := db.Query(`SELECT kind, state, attempt, run_at, last_error, awaits FROM jobs WHERE state NOT IN ('completed', 'failed') LIMIT 8`)
						for rows.Next() {
							var k, st, le, aw string
							var at, ra int64
							_ = rows.Scan(&k, &st, &at, &ra, &le, &aw)
							b.Logf("%s %s attempt %d run_at %s awaits %q: %s", k, st, at, time.Until(time.Unix(0, ra)), aw, le)
						}
						rows.Close()
						b.Fatalf("%d steps still to run after 2 minutes", left)
					}
					time.Sleep(20 * time.Millisecond) // polling the jobs table
				}
				took := time.Since(begin)
				b.StopTimer()
				var after syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
				if err := db.QueryRow(`SELECT COUNT(*) FILTER (WHERE state = 'completed'), COUNT(*) FILTER (WHERE state = 'failed') FROM jobs`).Scan(&done, &failed); err != nil {
					b.Fatal(err)
				}
				if failed > 0 {
					b.Fatalf("%d of %d steps failed", failed, done+failed)
				}
				cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
				b.ReportMetric(float64(done)/took.Seconds(), "steps/s")
				b.ReportMetric(float64(done)/float64(b.N), "steps/war-room")
				b.ReportMetric(float64(cpu.Microseconds())/float64(done), "cpu-µs/step")
			})
		}
	}
}
