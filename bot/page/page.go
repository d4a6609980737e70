// Package page is the read-only incident page: GET /incidents, the most
// recent war rooms, and GET /incidents/INC-n, one incident's summary, its
// value over time (an inline SVG), its evidence and links, its alerts and
// its timeline. It is rendered on the server with html/template, which
// escapes every value that came from alert content; it loads nothing from
// anywhere (its style is inline under a nonce, its chart inline SVG), and
// says so to the browser in a Content-Security-Policy of default-src
// 'none'.
//
// A page opens with a link signed by Signer (HMAC-SHA256 over the
// incident's ID and the link's expiry), which the war room's summary and
// ticket carry, or with the JSON API's credentials, for scripts. Anything
// else is a 403 that says nothing of the incident. The package reads the
// store and changes nothing; it imports the domain and the renderers'
// shared part only.
package page

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

//go:embed templates
var files embed.FS

var (
	style = mustRead("templates/style.css")
	tmpl  = template.Must(template.New("page").Funcs(template.FuncMap{
		// The style is the package's own, never data: trusted CSS.
		"css": func() template.CSS { return template.CSS(style) },
	}).ParseFS(files, "templates/page.html"))
)

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Deps are what the page takes from the composition root.
type Deps struct {
	Store incident.Store
	// Hosts returns the hosts links may point at, as the configuration
	// in force says; nil allows none.
	Hosts func() render.Hosts
	// Links returns the war room's links of an incident (the ticket,
	// Alertmanager, the alert's query, the runbook), as its summary shows
	// them; nil: none. Evidence links are added here.
	Links func(inc *incident.Incident, alerts []incident.Alert) []render.Link
	// Signer returns the signer in force, nil when links are not signed.
	Signer func() *Signer
	// Authorized reports whether r carries the JSON API's credentials
	// (Authorization: Bearer, as the API takes them).
	Authorized func(r *http.Request) bool
	Log        *slog.Logger
	Now        func() time.Time
}

// Page serves the incident pages.
type Page struct{ d Deps }

// New returns the page of d.
func New(d Deps) *Page {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Page{d: d}
}

// Paths are the patterns of the page's routes.
const (
	ListPattern     = "GET /incidents"
	IncidentPattern = "GET /incidents/{id}"
)

// Routes adds the page's routes to mux.
func (p *Page) Routes(mux *http.ServeMux) {
	mux.HandleFunc(ListPattern, p.list)
	mux.HandleFunc(IncidentPattern, p.incident)
}

// headers sets what every answer of the page carries, a refusal
// included, and returns the nonce of its style.
func headers(w http.ResponseWriter) string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:]) // no "+" or "/" for the template to escape
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	return nonce
}

// plain answers code with a line of text.
func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// forbidden is the one answer to a request the page does not open for:
// it says nothing of the incident, not even whether it exists.
const forbidden = "403 forbidden: this link is not valid or has expired; ask the war room for a new one, or send the API's bearer token"

func (p *Page) authorized(r *http.Request) bool {
	return p.d.Authorized != nil && p.d.Authorized(r)
}

func (p *Page) signer() *Signer {
	if p.d.Signer == nil {
		return nil
	}
	return p.d.Signer()
}

func (p *Page) hosts() render.Hosts {
	if p.d.Hosts == nil {
		return render.Hosts{}
	}
	return p.d.Hosts()
}

// incident serves the page of one incident.
func (p *Page) incident(w http.ResponseWriter, r *http.Request) {
	nonce := headers(w)
	now := p.d.Now()
	id, idErr := incident.ParseID(r.PathValue("id"))
	path := p.pathTo(now)
	if !p.authorized(r) {
		err := idErr
		if err == nil {
			err = p.signer().Check(id, r.URL.Query(), now)
		}
		if err != nil {
			p.d.Log.Info("incident page refused", "path", render.OneLine(r.URL.Path, 100), "reason", err)
			plain(w, http.StatusForbidden, forbidden)
			return
		}
		// The links this page shows expire with the link that opened it.
		path = p.pathUntil(r.URL.Query().Get("exp"))
	} else if idErr != nil {
		plain(w, http.StatusNotFound, "404 not found: not an incident ID (want INC-<number>)")
		return
	}
	v, err := p.view(r.Context(), id, now, path)
	if err != nil {
		p.fail(w, err)
		return
	}
	v.Nonce = nonce
	p.write(w, "incident", v)
}

// view reads what the page of id shows.
func (p *Page) view(ctx context.Context, id string, now time.Time, path func(id string) string) (*incidentView, error) {
	s := p.d.Store
	inc, err := s.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	// The evidence's links are the war room's: only to allowed hosts.
	hosts := p.hosts()
	inc = hosts.Incident(inc)
	f := incidentFacts{}
	if f.alerts, err = s.Alerts(ctx, id, pageAlerts); err != nil {
		return nil, err
	}
	if f.alertsTotal, _, err = s.CountAlerts(ctx, id); err != nil {
		return nil, err
	}
	if f.timeline, err = s.TimelinePage(ctx, id, 0, pageTimeline+1); err != nil {
		return nil, err
	}
	if len(f.timeline) > pageTimeline {
		f.timeline, f.more = f.timeline[:pageTimeline], true
	}
	if f.points, err = s.ValuePoints(ctx, id, maxPoints); err != nil {
		return nil, err
	}
	if inc.IsStorm() {
		if f.children, err = s.Incidents(ctx, incident.Filter{Storm: id, Limit: 1000}); err != nil {
			return nil, err
		}
		for i, c := range f.children {
			f.children[i] = hosts.Incident(c)
		}
	}
	var links []render.Link
	if p.d.Links != nil {
		for _, l := range p.d.Links(inc, f.alerts) {
			if l.Kind != render.KindPage { // this page itself
				links = append(links, l)
			}
		}
	}
	f.links = hosts.Links(append(links, render.EvidenceLinks(inc.Evidence)...))
	f.childPath = path
	return newIncidentView(inc, f, now), nil
}

// pathTo returns the path of another incident's page as this page links
// it: signed, when links are signed, so that a browser can follow it.
func (p *Page) pathTo(now time.Time) func(id string) string {
	s := p.signer()
	return func(id string) string {
		if s == nil {
			return IncidentPath(id)
		}
		return s.Path(id, now)
	}
}

// pathUntil is pathTo for a page opened by a signed link expiring at exp
// (checked): its links to other incidents expire with it.
func (p *Page) pathUntil(exp string) func(id string) string {
	s := p.signer()
	n, err := strconv.ParseInt(exp, 10, 64)
	return func(id string) string {
		if s == nil || err != nil {
			return IncidentPath(id)
		}
		return s.PathUntil(id, n)
	}
}

// list serves the list of recent war rooms: the API's credentials only,
// as a list is no one incident's link.
func (p *Page) list(w http.ResponseWriter, r *http.Request) {
	nonce := headers(w)
	if !p.authorized(r) {
		plain(w, http.StatusForbidden, "403 forbidden: the list of incidents takes the API's bearer token")
		return
	}
	now := p.d.Now()
	incs, err := p.d.Store.Incidents(r.Context(), incident.Filter{Limit: listed})
	if err != nil {
		p.fail(w, err)
		return
	}
	v := &listView{Nonce: nonce, Generated: stamp(now)}
	path := p.pathTo(now)
	for _, inc := range incs {
		v.Incidents = append(v.Incidents, newListRow(inc, path(inc.ID), now))
	}
	p.write(w, "list", v)
}

// fail answers a read that failed: 404 for an incident that does not
// exist, 503 for a store that did not answer in time, 500 otherwise.
func (p *Page) fail(w http.ResponseWriter, err error) {
	switch {
	case incident.ErrorCode(err) == incident.ENOTFOUND:
		plain(w, http.StatusNotFound, "404 not found: no such incident")
	case errors.Is(err, context.DeadlineExceeded) || incident.ErrorCode(err) == incident.EUNAVAILABLE:
		plain(w, http.StatusServiceUnavailable, "503 unavailable: the store did not answer in time; retry")
	default:
		p.d.Log.Error("incident page", "err", err)
		plain(w, http.StatusInternalServerError, "500 internal error")
	}
}

// write renders the template name with v: into a buffer first, so that
// a template error is a 500, not half a page.
func (p *Page) write(w http.ResponseWriter, name string, v any) {
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, name, v); err != nil {
		p.d.Log.Error("incident page: render", "err", err)
		plain(w, http.StatusInternalServerError, "500 internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}
