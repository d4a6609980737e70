package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Links says where the links warroom shows may point. A URL that
// comes from alert content or a deploy record (a runbook annotation, an
// alert's generatorURL, a deploy's url) is a link only when its host is
// allowed; otherwise responders see that it was not linked, and why.
type Links struct {
	// AllowedHosts are host names, exact ("runbooks.example.com") or a
	// wildcard for subdomains ("*.example.com"). The hosts of grafana.url,
	// prometheus.url, jaeger.url, alertmanager.url, jira.url, public_url
	// and the literal host of deploys.compare_url are always allowed.
	AllowedHosts []string `yaml:"allowed_hosts" json:"allowed_hosts"`
}

// hostPattern is what an allowed_hosts entry may look like: a DNS name,
// or one with a leading "*." for its subdomains.
var hostPattern = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

func (l Links) validate() []error {
	var errs []error
	for _, h := range l.AllowedHosts {
		if !hostPattern.MatchString(strings.ToLower(h)) {
			errs = append(errs, fmt.Errorf("links.allowed_hosts: %q is not a host name or *.domain (no scheme, port or path)", h))
		}
	}
	return errs
}

// TrustedURLs are the URLs of the systems the config names, whose hosts
// links may always point at (see Links): grafana.url, prometheus.url,
// jaeger.url, alertmanager.url, jira.url, public_url and the literal host
// of deploys.compare_url. Empty ones are included.
func (c *Config) TrustedURLs() []string {
	return []string{c.Grafana.URL, c.Prometheus.URL, c.Jaeger.URL, c.Alertmanager.URL, c.Jira.URL, c.PublicURL, templateHost(c.Deploys.CompareURL)}
}

// templateHost is the URL template's scheme and host when no template
// action is in them ("https://github.com/{{.Service}}/…" gives
// "https://github.com"), else "".
func templateHost(tmpl string) string {
	head, _, templated := strings.Cut(tmpl, "{{")
	scheme, rest, ok := strings.Cut(head, "://")
	if !ok {
		return ""
	}
	host, _, ended := strings.Cut(rest, "/")
	if !ended && templated {
		return "" // the host itself is (partly) templated
	}
	return scheme + "://" + host
}
