package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authenticator checks the credentials Alertmanager's http_config can
// send: a bearer token or basic auth. Secrets are compared in constant time
// over their hashes, so neither content nor length leaks through timing.
type authenticator struct {
	bearer   [32]byte
	user     [32]byte
	password [32]byte
	hasBear  bool
	hasBasic bool
}

func newAuthenticator(c WebhookConfig) authenticator {
	var a authenticator
	if tok := string(c.BearerToken); tok != "" {
		a.bearer, a.hasBear = sha256.Sum256([]byte(tok)), true
	}
	if c.BasicAuth != nil && c.BasicAuth.Username != "" {
		a.user = sha256.Sum256([]byte(c.BasicAuth.Username))
		a.password = sha256.Sum256([]byte(string(c.BasicAuth.Password)))
		a.hasBasic = true
	}
	return a
}

// check returns "" when r may pass, else a one-line reason.
func (a authenticator) check(r *http.Request) string {
	if !a.hasBear && !a.hasBasic {
		return "" // no auth configured: the listener is loopback only
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return "missing credentials"
	}
	if a.hasBear {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			sum := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(sum[:], a.bearer[:]) == 1 {
				return ""
			}
			return "invalid credentials"
		}
	}
	if a.hasBasic {
		if u, p, ok := r.BasicAuth(); ok {
			us, ps := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
			if subtle.ConstantTimeCompare(us[:], a.user[:])&subtle.ConstantTimeCompare(ps[:], a.password[:]) == 1 {
				return ""
			}
			return "invalid credentials"
		}
	}
	return "unsupported authorization scheme"
}

func (a authenticator) challenge(w http.ResponseWriter) {
	if a.hasBear {
		w.Header().Add("WWW-Authenticate", `Bearer realm="warroom"`)
	}
	if a.hasBasic {
		w.Header().Add("WWW-Authenticate", `Basic realm="warroom"`)
	}
}
