package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/storetest"
)

// BenchmarkIngest measures the store alone: concurrent single-alert
// deliveries over 50 incident keys (WARROOM_BENCH_SERVICES to change), each
// committed durably before Ingest returns.
//
//	go test ./incident/sqlstore -run '^$' -bench Ingest
func BenchmarkIngest(b *testing.B) {
	services := 50
	if n, err := strconv.Atoi(os.Getenv("WARROOM_BENCH_SERVICES")); err == nil && n > 0 {
		services = n
	}
	for _, bk := range storetest.Backends {
		for _, writers := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", bk.Driver, writers), func(b *testing.B) {
				s, err := sqlstore.Open(context.Background(), bk.Driver, bk.DSN(b), sqlstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				svc := incident.NewService(s, testRules{}, incident.Options{})
				var next atomic.Int64
				var wg sync.WaitGroup
				seed := time.Now().UnixNano()
				b.ResetTimer()
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							d := delivery(alert(fmt.Sprintf("svc%d", i%int64(services)), fmt.Sprintf("%d-%d", seed, i), "0.031", incident.AlertFiring))
							if _, err := svc.Ingest(context.Background(), d); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
			})
		}
	}
}
