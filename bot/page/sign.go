package page

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signer makes and checks the links that open an incident's page: the
// page's path with exp, the link's expiry (Unix seconds), and sig, an
// HMAC-SHA256 over the incident's ID and exp under the key of
// incident_page.signing_key. A nil Signer makes no link and passes none.
type Signer struct {
	key  []byte
	ttl  time.Duration
	base string
}

// NewSigner returns the signer of key, whose links open the page for ttl
// and start with base (public_url); nil when key is empty.
func NewSigner(key string, ttl time.Duration, base string) *Signer {
	if key == "" {
		return nil
	}
	return &Signer{key: []byte(key), ttl: ttl, base: strings.TrimSuffix(base, "/")}
}

// linkGrain is what a link's expiry is rounded up to: a summary rendered
// again within the hour carries the same link.
const linkGrain = time.Hour

// Path is the page's path of the incident id with a signature valid for
// the signer's lifetime from now, rounded up to the hour.
func (s *Signer) Path(id string, now time.Time) string {
	exp := now.Add(s.ttl)
	if r := exp.Truncate(linkGrain); !r.Equal(exp) {
		exp = r.Add(linkGrain)
	}
	return s.PathUntil(id, exp.Unix())
}

// PathUntil is the page's path of the incident id with a signature valid
// until exp (Unix seconds): the links of a page opened by a signed link
// expire with it, so that following them never renews it.
func (s *Signer) PathUntil(id string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return IncidentPath(id) + "?exp=" + e + "&sig=" + s.sign(id, e)
}

// Link is Path under the base address, or "" without a signer or a base.
func (s *Signer) Link(id string, now time.Time) string {
	if s == nil || s.base == "" {
		return ""
	}
	return s.base + s.Path(id, now)
}

// IncidentPath is the path of the page of the incident id.
func IncidentPath(id string) string { return "/incidents/" + url.PathEscape(id) }

func (s *Signer) sign(id, exp string) string {
	m := hmac.New(sha256.New, s.key)
	// The purpose first: the key signs nothing else, but a signature
	// meant for this page must never be one for another use of it.
	m.Write([]byte("warroom incident page\x00" + id + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// The reasons a link does not open a page. They are logged, never shown:
// the page answers every one with the same 403.
var (
	errNoSigner  = errors.New("links are not signed here (no incident_page.signing_key)")
	errMalformed = errors.New("exp or sig missing or malformed")
	errForged    = errors.New("signature does not match")
	errExpired   = errors.New("link expired")
)

// Check returns nil when q (the query of a request for the page of id)
// holds a signature of id that has not expired at now.
func (s *Signer) Check(id string, q url.Values, now time.Time) error {
	if s == nil {
		return errNoSigner
	}
	exps, sigs := q["exp"], q["sig"]
	if len(exps) != 1 || len(sigs) != 1 {
		return errMalformed
	}
	exp, sig := exps[0], sigs[0]
	if exp == "" || len(exp) > 19 || strings.Trim(exp, "0123456789") != "" || exp[0] == '0' {
		return errMalformed
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errMalformed
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.sign(id, exp))
	if !hmac.Equal(got, want) {
		return errForged
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(n, 0)) {
		return errExpired
	}
	return nil
}
