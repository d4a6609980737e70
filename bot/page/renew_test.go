package page

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

var pageLinks = regexp.MustCompile(`href="(/incidents/[^"]+)"`)

// A link opens its incident until it expires: the signed links a page
// shows (a storm's children, a child's storm) must not outlive the link
// that opened it, or following storm → child → storm renews a link for
// ever.
func TestPageLinksDoNotOutliveTheirLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	store, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(t.TempDir(), "warroom.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc := incident.NewService(store, rulesOf{}, incident.Options{Now: func() time.Time { return now },
		Storm: incident.Storm{Threshold: 1, Window: time.Hour}})
	for _, service := range []string{"a", "b", "c"} {
		_, err := svc.Ingest(ctx, &incident.Delivery{Source: incident.SourceAlertmanager, Status: "firing", ReceivedAt: now,
			Alerts: []incident.Alert{{Fingerprint: service, Status: incident.AlertFiring, Source: incident.SourceAlertmanager, StartsAt: now,
				Labels: map[string]string{"alertname": "HighErrorRate", "service": service}, Annotations: map[string]string{"error_rate": "0.05"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	incs, err := store.Incidents(ctx, incident.Filter{Limit: 10, All: true})
	if err != nil {
		t.Fatal(err)
	}
	var storm, child string
	for _, inc := range incs {
		if inc.IsStorm() {
			storm = inc.ID
		} else if inc.Storm != "" {
			child = inc.ID
		}
	}
	if storm == "" || child == "" {
		t.Fatalf("no storm with a child among %d incidents", len(incs))
	}
	signer := NewSigner(testKey, 24*time.Hour, "https://warroom.example.com")
	p := New(Deps{Store: store, Hosts: func() render.Hosts { return render.Hosts{} }, Signer: func() *Signer { return signer },
		Now: func() time.Time { return now }})
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	link := signer.Path(storm, now) // the link the war room's summary carries
	expires := mustInt(t, query(t, link).Get("exp"))
	// An hour before it expires, its holder opens the storm, then a child
	// from the storm's page, then the storm from the child's page.
	now = time.Unix(expires, 0).Add(-time.Hour)
	for hop := 0; hop < 2; hop++ {
		a := get(t, srv.URL+link, "")
		if a.code != http.StatusOK {
			t.Fatalf("hop %d %s: %d", hop, link, a.code)
		}
		want := child
		if hop == 1 {
			want = storm
		}
		next := ""
		for _, m := range pageLinks.FindAllStringSubmatch(a.body, -1) {
			if u := html.UnescapeString(m[1]); strings.HasPrefix(u, IncidentPath(want)+"?") {
				next = u
			}
		}
		if next == "" {
			t.Fatalf("hop %d: the page of %s has no link to %s", hop, link, want)
		}
		if got := mustInt(t, query(t, next).Get("exp")); got > expires {
			t.Errorf("hop %d: the page opened by a link expiring at %d links %s expiring at %d (%s later)",
				hop, expires, want, got, time.Duration(got-expires)*time.Second)
		}
		link = next
	}
	// Past the first link's expiry, what its holder collected opens nothing.
	now = time.Unix(expires, 0).Add(time.Hour)
	if a := get(t, srv.URL+link, ""); a.code != http.StatusForbidden {
		t.Errorf("a day after the storm's link expired, the storm opens again through its child: %d", a.code)
	}
}
