package config

import (
	"fmt"
)

// Webhook says how senders of alerts and deploys authenticate.
// With neither a bearer token nor basic auth, webhooks are not
// authenticated.
type Webhook struct {
	BearerToken     Secret     `yaml:"bearer_token" json:"bearer_token"`
	BearerTokenFile string     `yaml:"bearer_token_file" json:"bearer_token_file"`
	BasicAuth       *BasicAuth `yaml:"basic_auth" json:"basic_auth"`
	// MaxBodyBytes caps a webhook body; default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// MaxInFlightBytes caps the webhook bodies being handled at once (a
	// body of unknown length counts as max_body_bytes): past it, webhooks
	// are answered 503 with Retry-After at once rather than queued behind
	// a slow store. Default 64 MiB.
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes" json:"max_in_flight_bytes"`
}

// Configured reports whether webhooks must authenticate: a bearer token or
// a basic-auth user is set (after ResolveSecrets, a secret that could not
// be resolved is empty).
func (w *Webhook) Configured() bool {
	return w.BearerToken != "" || w.BasicAuth != nil && w.BasicAuth.Username != ""
}

// API is the credential of the JSON API: listing and showing
// incidents, acting on them (ack, mitigate, resolve, notes) and listing
// deploys. Without a token of its own the API takes the webhook's
// credentials, as before the API had its own; with one it takes only that
// token, so that Alertmanager's credential cannot resolve incidents.
type API struct {
	BearerToken     Secret `yaml:"bearer_token" json:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file"`
}

// BasicAuth is a username and password.
type BasicAuth struct {
	Username     string `yaml:"username" json:"username"`
	Password     Secret `yaml:"password" json:"password"`
	PasswordFile string `yaml:"password_file" json:"password_file"`
}

// Format implements fmt.Formatter. Without it, a verb that does not fit a
// pointer (%s, %d) on a struct holding a *BasicAuth makes fmt print the
// fields with their methods turned off, and so the password.
func (b BasicAuth) Format(f fmt.State, verb rune) {
	type basicAuth BasicAuth // without this method; Password keeps its own
	fmt.Fprintf(f, fmt.FormatString(f, verb), basicAuth(b))
}

// validate checks the webhook section; resolved says that ResolveSecrets
// ran, after which a password read from its file is in Password.
func (w *Webhook) validate(bad func(string, ...any), resolved bool) {
	if w.MaxBodyBytes < 0 {
		bad("webhook.max_body_bytes: %d is negative", w.MaxBodyBytes)
	}
	if w.MaxInFlightBytes < w.MaxBodyBytes {
		bad("webhook.max_in_flight_bytes: %d is less than max_body_bytes (%d): the largest webhook would never fit", w.MaxInFlightBytes, w.MaxBodyBytes)
	}
	if b := w.BasicAuth; b != nil {
		if b.Username == "" {
			bad("webhook.basic_auth.username: required")
		}
		// An empty password would let anyone who knows the user in.
		if b.Password == "" && (b.PasswordFile == "" || resolved) {
			bad("webhook.basic_auth.password: required (or password_file)")
		}
	}
}
