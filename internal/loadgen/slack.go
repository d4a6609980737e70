package loadgen

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CommandOptions describe a slash-command load: signed /warroom requests
// sent at a fixed rate (open loop: a slow answer does not slow the
// sender, so latency is measured as Slack would see it).
type CommandOptions struct {
	URL           string // the /slack/commands URL
	SigningSecret string
	Rate          int // commands a second
	Duration      time.Duration
	// Texts are the command texts sent in turn, e.g. "status INC-1".
	Texts []string
	// MaxInFlight bounds concurrent requests; past it a send counts as an
	// error instead of queueing (default 1000).
	MaxInFlight int
}

// SignSlack signs body as Slack does (v0) at ts.
func SignSlack(secret, body string, ts time.Time) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":" + body))
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// CommandBody is the form Slack posts for /warroom text, made unique by
// n (trigger_id), so that no two requests carry the same signature.
func CommandBody(text string, n int) string {
	v := url.Values{}
	v.Set("token", "unused")
	v.Set("team_id", "T0LOAD")
	v.Set("team_domain", "load")
	v.Set("channel_id", "C0LOAD")
	v.Set("channel_name", "load")
	v.Set("user_id", "U0LOAD")
	v.Set("user_name", "load")
	v.Set("command", "/warroom")
	v.Set("text", text)
	v.Set("api_app_id", "A0LOAD")
	v.Set("response_url", "https://hooks.slack.com/commands/T0LOAD/1/load")
	v.Set("trigger_id", fmt.Sprintf("load.%d", n))
	return v.Encode()
}

// RunCommands sends the load and measures it.
func RunCommands(ctx context.Context, o CommandOptions) (*Result, error) {
	if o.Rate <= 0 || o.Duration <= 0 || len(o.Texts) == 0 {
		return nil, fmt.Errorf("loadgen: set Rate, Duration and Texts")
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1000
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration+30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.MaxInFlight}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	res := &Result{Statuses: map[int]int{}}
	var all []time.Duration
	slots := make(chan struct{}, o.MaxInFlight)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(o.Rate)
	total := int(o.Duration / interval)
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			mu.Lock()
			res.Errors++
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			body := CommandBody(o.Texts[i%len(o.Texts)], i)
			ts, sig := SignSlack(o.SigningSecret, body, time.Now())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", sig)
			t0 := time.Now()
			resp, err := client.Do(req)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors++
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			all = append(all, d)
			res.Statuses[resp.StatusCode]++
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(all)
	res.Requests = len(all)
	if len(all) > 0 {
		res.P50 = all[len(all)/2]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
		res.Max = all[len(all)-1]
	}
	res.PerSecond = float64(res.Requests) / res.Elapsed.Seconds()
	return res, nil
}
