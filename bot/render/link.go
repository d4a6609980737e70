package render

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warroom/warroom/incident"
)

// Link is one link of a war room: a bookmark, a button, a line of the
// summary.
type Link struct {
	Kind  string // jira, bridge, grafana, jaeger, runbook, war_room, page
	Title string
	URL   string
	// Note, with no URL, says why the link is not shown: its URL came from
	// alert content and points at a host that is not allowed.
	Note string
}

// The meeting bridge's link: its kind, and its title (the text of the
// link, the bookmark's name).
const (
	KindBridge  = "bridge"
	BridgeTitle = "Join the bridge"
)

// KindPage is the kind of the link to the incident's read-only page
// (signed; see bot/page).
const KindPage = "page"

// EvidenceLinks are the links the evidence adds: boards and the trace search.
func EvidenceLinks(ev *incident.Evidence) []Link {
	if ev == nil {
		return nil
	}
	var links []Link
	for _, d := range ev.Dashboards {
		links = append(links, Link{Kind: "grafana", Title: d.Title, URL: d.URL})
	}
	if ev.TracesURL != "" {
		links = append(links, Link{Kind: "jaeger", Title: "Failing traces in Jaeger", URL: ev.TracesURL})
	}
	return links
}

// LinkURL returns raw percent-encoded as a link's URL may stand in a
// markup (escapes: the ASCII bytes that would end or break the link there,
// besides controls; non-ASCII spaces, controls and format characters are
// encoded as UTF-8 bytes), or false when it is not valid UTF-8 or not an
// absolute http(s) URL of at most MaxURL characters.
func LinkURL(raw, escapes string) (string, bool) {
	if raw == "" || !utf8.ValidString(raw) || TextLen(raw) > MaxURL {
		return "", false
	}
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r < utf8.RuneSelf && (r < ' ' || r == 0x7f || strings.ContainsRune(escapes, r)):
			fmt.Fprintf(&b, "%%%02X", r)
		case r >= utf8.RuneSelf && (unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)):
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || TextLen(s) > MaxURL {
		return "", false
	}
	return s, true
}
