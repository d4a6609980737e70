// Package loadgen sends a bounded stream of Alertmanager webhooks to a
// warroom server and measures the answers: rate and latency percentiles.
// It is used by the intake benchmark and by cmd/warroom-load.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options describe a load run. The run ends after Requests requests or
// after Duration, whichever comes first; both are bounded.
type Options struct {
	URL         string // the webhook URL
	Token       string // bearer token
	Concurrency int    // requests in flight
	Requests    int    // total requests (0: until Duration)
	Duration    time.Duration
	Alerts      int // alerts per payload
	Services    int // distinct services (incident keys)
	// Value is the error_rate annotation (0.031 opens war rooms).
	Value float64
	// Seed makes fingerprints distinct across runs against one database.
	Seed string
}

// Result is what a run measured.
type Result struct {
	Requests  int           `json:"requests"`
	Alerts    int           `json:"alerts"`
	Errors    int           `json:"errors"`
	Statuses  map[int]int   `json:"statuses"`
	Elapsed   time.Duration `json:"elapsed"`
	PerSecond float64       `json:"webhooks_per_second"`
	AlertsPS  float64       `json:"alerts_per_second"`
	P50       time.Duration `json:"p50"`
	P99       time.Duration `json:"p99"`
	Max       time.Duration `json:"max"`
}

func (r *Result) String() string {
	return fmt.Sprintf("%d webhooks (%d alerts) in %s: %.0f webhooks/s, %.0f alerts/s, p50 %s, p99 %s, max %s, statuses %v, errors %d",
		r.Requests, r.Alerts, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.AlertsPS,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Statuses, r.Errors)
}

// Payload builds webhook i: Alerts alerts of one service, each with its own
// fingerprint, shaped like the captured Alertmanager fixtures.
func Payload(o Options, i int) []byte {
	svc := fmt.Sprintf("svc-%d", i%max(o.Services, 1))
	alerts := make([]map[string]any, o.Alerts)
	for k := range alerts {
		alerts[k] = map[string]any{
			"status": "firing",
			"labels": map[string]string{"alertname": "PodErrorRate", "env": "prod", "service": svc,
				"pod": fmt.Sprintf("%s-%d", svc, k), "severity": "critical", "cluster": "prod-eu-1"},
			"annotations":  map[string]string{"error_rate": fmt.Sprint(o.Value), "summary": svc + " error rate is high"},
			"startsAt":     "2026-11-26T04:24:38.185Z",
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090/graph?g0.expr=x",
			"fingerprint":  fmt.Sprintf("%s-%08x-%04x", o.Seed, i, k),
		}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "warroom", "groupKey": "{}:{service=\"" + svc + "\"}",
		"truncatedAlerts": 0, "groupLabels": map[string]string{"service": svc}, "commonLabels": map[string]string{"service": svc},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
	})
	return b
}

// Run sends the load and measures it.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Alerts <= 0 {
		o.Alerts = 1
	}
	if o.Requests <= 0 && o.Duration <= 0 {
		return nil, fmt.Errorf("loadgen: set Requests or Duration")
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}, Timeout: 30 * time.Second}
	// Build payloads ahead so that the generator spends its CPU on sending.
	n := o.Requests
	if n <= 0 {
		n = 1 << 20
	}
	pre := min(n, 20000)
	payloads := make([][]byte, pre)
	for i := range payloads {
		payloads[i] = Payload(o, i)
	}
	var next atomic.Int64
	var mu sync.Mutex
	res := &Result{Statuses: map[int]int{}}
	lat := make([][]time.Duration, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body := payloads[i%pre]
				if i >= pre {
					body = Payload(o, i)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if o.Token != "" {
					req.Header.Set("Authorization", "Bearer "+o.Token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					res.Errors++
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], d)
				mu.Lock()
				res.Statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	res.Requests = len(all)
	res.Alerts = res.Statuses[http.StatusOK] * o.Alerts
	if len(all) > 0 {
		res.P50 = all[len(all)/2]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
		res.Max = all[len(all)-1]
	}
	res.PerSecond = float64(res.Requests) / res.Elapsed.Seconds()
	res.AlertsPS = float64(res.Alerts) / res.Elapsed.Seconds()
	return res, nil
}
