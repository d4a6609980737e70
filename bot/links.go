package bot

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
)

// linkHosts decides which URLs may be links.
type linkHosts struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

// linkHostsOf is the config's allow-list of link hosts, with the hosts
// of the systems it configures.
func linkHostsOf(c *config.Config) linkHosts {
	h := linkHosts{exact: map[string]bool{}}
	for _, a := range c.Links.AllowedHosts {
		a = strings.ToLower(a)
		if s, ok := strings.CutPrefix(a, "*"); ok {
			h.suffixes = append(h.suffixes, s)
		} else {
			h.exact[a] = true
		}
	}
	for _, raw := range c.TrustedURLs() {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			h.exact[strings.ToLower(u.Hostname())] = true
		}
	}
	return h
}

// check says why raw may not be a link ("" when it may): it must be an
// http(s) URL whose host is allowed.
func (h linkHosts) check(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "not an http(s) URL"
	}
	host := strings.ToLower(u.Hostname())
	if h.exact[host] || slices.ContainsFunc(h.suffixes, func(s string) bool { return strings.HasSuffix(host, s) }) {
		return ""
	}
	return fmt.Sprintf("host %s is not in links.allowed_hosts", oneLine(host, 100))
}

// allows reports whether raw may be a link.
func (h linkHosts) allows(raw string) bool { return raw != "" && h.check(raw) == "" }

// links keeps the links to allowed hosts; any other keeps its title with
// no URL and a note saying why it is not linked.
func (h linkHosts) links(links []Link) []Link {
	out := make([]Link, 0, len(links))
	for _, l := range links {
		if why := h.check(l.URL); why != "" {
			l.URL, l.Note = "", "not linked: "+why
		}
		out = append(out, l)
	}
	return out
}

// incident returns inc, or a copy of it whose evidence links only to allowed hosts: the other URLs are dropped.
func (h linkHosts) incident(inc *incident.Incident) *incident.Incident {
	if inc == nil || inc.Evidence == nil {
		return inc
	}
	c := *inc
	if ev := inc.Evidence; ev != nil {
		e := *ev
		e.Deploys = h.deploys(ev.Deploys)
		e.Suspect, e.Target = h.deploy(ev.Suspect), h.deploy(ev.Target)
		e.CompareURL = h.keep(ev.CompareURL)
		e.TracesURL = h.keep(ev.TracesURL)
		e.Dashboards = nil
		for _, d := range ev.Dashboards {
			if h.allows(d.URL) {
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

// deploys returns copies of ds with their URLs kept only on allowed hosts.
func (h linkHosts) deploys(ds []incident.Deploy) []incident.Deploy {
	if ds == nil {
		return nil
	}
	out := slices.Clone(ds)
	for i := range out {
		out[i].URL, out[i].DiffURL = h.keep(out[i].URL), h.keep(out[i].DiffURL)
	}
	return out
}

func (h linkHosts) deploy(d *incident.Deploy) *incident.Deploy {
	if d == nil {
		return nil
	}
	c := *d
	c.URL, c.DiffURL = h.keep(c.URL), h.keep(c.DiffURL)
	return &c
}

// keep is raw when it may be a link, else "".
func (h linkHosts) keep(raw string) string {
	if h.allows(raw) {
		return raw
	}
	return ""
}
