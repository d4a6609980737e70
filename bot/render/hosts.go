package render

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/warroom/warroom/incident"
)

// Hosts decides which URLs may be links. A URL that comes from alert
// content or a deploy record (a runbook annotation, an alert's
// generatorURL, a deploy's url) is a link only when its host is allowed;
// otherwise responders see that it was not linked, and why. The zero
// Hosts allows none.
type Hosts struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

// NewHosts allows the hosts of allowed (links.allowed_hosts: exact names,
// or "*.example.com" for subdomains) and those of the trusted URLs (the
// systems the config names).
func NewHosts(allowed []string, trusted ...string) Hosts {
	h := Hosts{exact: map[string]bool{}}
	for _, a := range allowed {
		a = strings.ToLower(a)
		if s, ok := strings.CutPrefix(a, "*"); ok {
			h.suffixes = append(h.suffixes, s)
		} else {
			h.exact[a] = true
		}
	}
	for _, raw := range trusted {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			h.exact[strings.ToLower(u.Hostname())] = true
		}
	}
	return h
}

// Check says why raw may not be a link ("" when it may): it must be an
// http(s) URL whose host is allowed.
func (h Hosts) Check(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "not an http(s) URL"
	}
	host := strings.ToLower(u.Hostname())
	if h.exact[host] || slices.ContainsFunc(h.suffixes, func(s string) bool { return strings.HasSuffix(host, s) }) {
		return ""
	}
	return fmt.Sprintf("host %s is not in links.allowed_hosts", OneLine(host, 100))
}

// Allows reports whether raw may be a link.
func (h Hosts) Allows(raw string) bool { return raw != "" && h.Check(raw) == "" }

// Links keeps the links to allowed hosts; any other keeps its title with
// no URL and a note saying why it is not linked.
func (h Hosts) Links(links []Link) []Link {
	out := make([]Link, 0, len(links))
	for _, l := range links {
		if why := h.Check(l.URL); why != "" {
			l.URL, l.Note = "", "not linked: "+why
		}
		out = append(out, l)
	}
	return out
}

// Incident returns inc, or a copy of it whose evidence links only to allowed hosts: the other URLs are dropped.
func (h Hosts) Incident(inc *incident.Incident) *incident.Incident {
	if inc == nil || inc.Evidence == nil {
		return inc
	}
	c := *inc
	if ev := inc.Evidence; ev != nil {
		e := *ev
		e.Deploys = h.Deploys(ev.Deploys)
		e.Suspect, e.Target = h.deploy(ev.Suspect), h.deploy(ev.Target)
		e.CompareURL = h.keep(ev.CompareURL)
		e.TracesURL = h.keep(ev.TracesURL)
		e.Dashboards = nil
		for _, d := range ev.Dashboards {
			if h.Allows(d.URL) {
				e.Dashboards = append(e.Dashboards, d)
			}
		}
		e.Traces = slices.Clone(ev.Traces)
		for i := range e.Traces {
			e.Traces[i].URL = h.keep(e.Traces[i].URL)
		}
		c.Evidence = &e
	}
	return &c
}

// Deploys returns copies of ds with their URLs kept only on allowed hosts.
func (h Hosts) Deploys(ds []incident.Deploy) []incident.Deploy {
	if ds == nil {
		return nil
	}
	out := slices.Clone(ds)
	for i := range out {
		out[i].URL, out[i].DiffURL = h.keep(out[i].URL), h.keep(out[i].DiffURL)
	}
	return out
}

func (h Hosts) deploy(d *incident.Deploy) *incident.Deploy {
	if d == nil {
		return nil
	}
	c := *d
	c.URL, c.DiffURL = h.keep(c.URL), h.keep(c.DiffURL)
	return &c
}

// keep is raw when it may be a link, else "".
func (h Hosts) keep(raw string) string {
	if h.Allows(raw) {
		return raw
	}
	return ""
}
