package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/warroom/warroom/bot/config"
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
	// unavailable names the credential that was configured but could not
	// be resolved: nothing passes, rather than falling back to another
	// credential or to none.
	unavailable string
}

func newAuthenticator(c config.Webhook) authenticator {
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

// newCredentials returns the authenticators of the three parts of the HTTP
// surface: the alert webhooks (Alertmanager, Grafana); the JSON API
// (incidents, read and act, and the deploy list); and the deploy records
// (POST /api/v1/deploys and the Argo CD webhook), which decide the
// rollback target. The API and the deploy records each take their own
// bearer token when one is configured, else the webhook's credentials (as
// before they had their own), so that one leaked credential need not
// give all three.
func newCredentials(c *config.Config) (webhook, api, deploys authenticator) {
	webhook = newAuthenticator(c.Webhook)
	api = ownToken(c, "api.bearer_token", c.API.BearerToken, c.API.BearerTokenFile, webhook)
	deploys = ownToken(c, "deploys.bearer_token", c.Deploys.BearerToken, c.Deploys.BearerTokenFile, webhook)
	return webhook, api, deploys
}

// ownToken is the authenticator of a bearer token of c of its own (key, its
// value after ResolveSecrets, and its _file twin), or fallback when the
// token is not configured. A token that was configured but could not be
// resolved lets nothing pass.
func ownToken(c *config.Config, key string, tok config.Secret, file string, fallback authenticator) authenticator {
	if c.Unresolved(key) || tok == "" && file != "" {
		return authenticator{unavailable: key}
	}
	if tok == "" {
		return fallback
	}
	return authenticator{bearer: sha256.Sum256([]byte(tok)), hasBear: true}
}

// open reports whether a lets every request pass: no credential is
// configured (the listener is loopback only).
func (a authenticator) open() bool {
	return !a.hasBear && !a.hasBasic && a.unavailable == ""
}

// check returns "" when r may pass, else a one-line reason.
func (a authenticator) check(r *http.Request) string {
	if a.unavailable != "" {
		// The key names configuration, not a secret; the operator sees the
		// same key in the startup warnings.
		return a.unavailable + " is configured but could not be read; nothing passes until it is fixed"
	}
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
	if a.hasBear || a.unavailable != "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="warroom"`)
	}
	if a.hasBasic {
		w.Header().Add("WWW-Authenticate", `Basic realm="warroom"`)
	}
}

// Authorized reports whether r carries the JSON API's credentials, for
// the other read-only views of incidents (the incident page). Where the
// API takes no credentials (loopback mode) every request does, unless
// credentialsOnly: a listener that is not loopback-only (public_listen)
// must never open to no credential.
func (a *API) Authorized(r *http.Request, credentialsOnly bool) bool {
	if a.apiAuth.open() {
		return !credentialsOnly
	}
	return a.apiAuth.check(r) == ""
}
