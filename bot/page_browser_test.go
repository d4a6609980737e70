package bot_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/warroom/warroom/bot/page"
)

// The browser test of the incident page runs headless Chromium (Debian's
// package chromium; scripts/test installs it). Without one it skips,
// unless WARROOM_REQUIRE_BROWSER=1 (.ci/run sets it), which makes a
// missing browser a failure. Its screenshot goes to the directory
// WARROOM_TEST_ARTIFACTS names, else to a new temporary directory; the
// test prints the path.

// chromium returns the path of a Chromium, or skips (fails when one is
// required).
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	if p := os.Getenv("WARROOM_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH (" + strings.Join(names, ", ") + "; apt-get install chromium, or WARROOM_CHROMIUM=path)"
	if os.Getenv("WARROOM_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + ": the browser test of the incident page is required (WARROOM_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg + ": the browser test of the incident page is skipped; WARROOM_REQUIRE_BROWSER=1 makes this a failure")
	return ""
}

// artifacts is the directory of the test's artifacts.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WARROOM_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "warroom-artifacts-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts a headless Chromium for the test; it records the URL of
// every request the page makes, and the browser's log (a CSP violation
// is logged there).
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	logs     []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1600))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to sandbox as root
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		case *log.EventEntryAdded:
			b.logs = append(b.logs, string(e.Entry.Source)+" "+string(e.Entry.Level)+": "+e.Entry.Text)
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// seen returns the requests and the log so far.
func (b *browser) seen() (requests, logs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...), append([]string(nil), b.logs...)
}

// open navigates to u and returns the status of its answer.
func (b *browser) open(t *testing.T, u string) int64 {
	t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("navigate to %s: %v", u, err)
	}
	return res.Status
}

func run[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// A real browser loads the signed page of a war room with evidence from
// public_listen: the timeline and the suspect deploy are there, the
// style under its nonce applies, no label became an element, and the
// page asked no other origin for anything. A forged link and an expired
// one are 403 and show nothing of the incident.
func TestIncidentPageInBrowser(t *testing.T) {
	b := newBrowser(t)
	r := startPageRoom(t, func(labels, annotations map[string]any) {
		labels["team"] = `<script>alert("team")</script><img src="https://evil.example/x.png">`
		annotations["summary"] = `payment-gateway error rate is 3.107% <img src=x onerror=alert(1)>`
	}, nil)
	link := r.link(t)
	signed := at(r.public, link)
	origin, err := url.Parse(r.public)
	if err != nil {
		t.Fatal(err)
	}

	if code := b.open(t, signed); code != 200 {
		t.Fatalf("the signed page: HTTP %d", code)
	}
	timeline := run(t, b, "the timeline", chromedp.Text(chromedp.ID("timeline")))
	suspect := run(t, b, "the suspect deploy", chromedp.Text(chromedp.ID("suspect")))
	for _, want := range []string{"Opened", "alert", "opened by rule api-error-rate", "Jira OPS-1 filed"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, timeline)
		}
	}
	for _, want := range []string{"Suspect deploy", "9f8e7d6", "payment-gateway", "alice", "12m before the alert"} {
		if !strings.Contains(suspect, want) {
			t.Errorf("the suspect deploy lacks %q: %s", want, suspect)
		}
	}
	// The hostile label is text on the page, not an element.
	if n := run(t, b, "elements", chromedp.Evaluate[int](`document.querySelectorAll("script, img, iframe, object, embed, link, base, form").length`)); n != 0 {
		t.Errorf("%d elements that load or run something", n)
	}
	if text := run(t, b, "the page's text", chromedp.Text(chromedp.ID("alerts"))); !strings.Contains(text, `<script>alert("team")</script>`) {
		t.Errorf("the label does not show as text:\n%s", text)
	}
	// The style applied: the nonce matched the CSP.
	if border := run(t, b, "the style", chromedp.Evaluate[string](`getComputedStyle(document.getElementById("suspect")).borderLeftWidth`)); border != "4px" {
		t.Errorf("the suspect's border is %q: the style did not apply", border)
	}
	if n := run(t, b, "the chart", chromedp.Evaluate[int](`document.querySelectorAll("#value svg polyline").length`)); n != 1 {
		t.Errorf("%d value lines in the chart", n)
	}
	shot := run(t, b, "screenshot", chromedp.FullScreenshot(100))
	dir := artifacts(t)
	file := filepath.Join(dir, "incident-page.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the incident page: %s", file)

	// A forged link and an expired one: 403, nothing of the incident.
	q := link.Query()
	forged := page.NewSigner(pageKey+"-not-it", 24*time.Hour, "").Path("INC-1", time.Now())
	expired := page.NewSigner(pageKey, time.Hour, "").Path("INC-1", r.h.clock.Now().Add(-3*time.Hour))
	tampered := "/incidents/INC-1?exp=" + q.Get("exp") + "&sig=" + strings.Repeat("A", len(q.Get("sig")))
	for what, p := range map[string]string{"forged": forged, "expired": expired, "tampered": tampered} {
		if code := b.open(t, r.public+p); code != 403 {
			t.Errorf("%s link: HTTP %d, want 403", what, code)
		}
		if body := run(t, b, what+" body", chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(body, "payment") || strings.Contains(body, "INC-1") {
			t.Errorf("%s link shows the incident: %q", what, body)
		}
	}

	requests, logs := b.seen()
	if len(requests) < 4 {
		t.Errorf("recorded %d requests: %v", len(requests), requests)
	}
	for _, req := range requests {
		u, err := url.Parse(req)
		if err != nil || u.Scheme != origin.Scheme || u.Host != origin.Host {
			t.Errorf("a request to another origin: %s", req)
		}
	}
	for _, l := range logs {
		if strings.Contains(l, "Content Security Policy") || strings.HasPrefix(l, "security") {
			t.Errorf("the browser logged a violation: %s", l)
		}
	}
	t.Logf("%d requests, all to %s; the browser's log: %q", len(requests), r.public, logs)
}
