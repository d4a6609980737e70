package config

import "time"

// Default incident page settings.
const (
	// DefaultPageLinkTTL is how long a signed link to an incident page
	// opens it.
	DefaultPageLinkTTL = 30 * 24 * time.Hour
	// minPageKeyLen is the shortest signing key taken: HMAC-SHA256 wants
	// a key of at least its 32-byte output.
	minPageKeyLen = 32
	// maxPageLinkTTL bounds link_ttl: a link in a ticket outlives the
	// incident, not the team.
	maxPageLinkTTL = 366 * 24 * time.Hour
)

// IncidentPage is the read-only incident page (GET /incidents/INC-n,
// served on listen and public_listen): the key its links are signed
// with (HMAC-SHA256 over the incident's ID and the link's expiry) and how
// long a link opens the page. Without a key no link is made, and only the
// API's credentials open the page.
type IncidentPage struct {
	SigningKey     Secret `yaml:"signing_key" json:"signing_key"`
	SigningKeyFile string `yaml:"signing_key_file" json:"signing_key_file"`
	// LinkTTL is how long a link opens the page; default 720h (30 days).
	LinkTTL *Duration `yaml:"link_ttl" json:"link_ttl"`
}

// Signed reports whether the page's links are signed (a key is set).
func (p IncidentPage) Signed() bool { return p.SigningKey != "" }

// LinkTTLOr is how long a link opens the page.
func (p IncidentPage) LinkTTLOr() time.Duration {
	if p.LinkTTL == nil {
		return DefaultPageLinkTTL
	}
	return p.LinkTTL.Duration()
}

// validate checks the section; resolved says that ResolveSecrets ran,
// publicURL is public_url, where the links point.
func (p IncidentPage) validate(bad func(string, ...any), resolved bool, publicURL string) {
	if (p.SigningKey != "" || p.SigningKeyFile != "") && publicURL == "" {
		bad("incident_page.signing_key: needs public_url, the address the page's links start with")
	}
	if p.LinkTTL != nil && (*p.LinkTTL <= 0 || p.LinkTTL.Duration() > maxPageLinkTTL) {
		bad("incident_page.link_ttl: %v is not above 0 and at most 8784h (366 days)", *p.LinkTTL)
	}
	// Before resolution the key may be a ${VAR} reference.
	if resolved && p.SigningKey != "" && len(p.SigningKey) < minPageKeyLen {
		bad("incident_page.signing_key: %d characters; want at least %d (e.g. openssl rand -hex 32)", len(p.SigningKey), minPageKeyLen)
	}
}
