package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/incident"
)

// send is one request with exactly the headers given (Host set apart,
// since net/http keeps it out of the header map).
type send struct {
	method, path string
	body         []byte
	host         string
	hdr          map[string]string
}

func (h *harness) send(s send) reply {
	h.t.Helper()
	req, err := http.NewRequest(s.method, h.base+s.path, bytes.NewReader(s.body))
	if err != nil {
		h.t.Fatal(err)
	}
	if s.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if s.host != "" {
		req.Host = s.host
	}
	for k, v := range s.hdr {
		req.Header.Set(k, v)
	}
	return h.do(req)
}

// port is the harness's port, for Host and Origin headers.
func (h *harness) port() string {
	return h.base[strings.LastIndex(h.base, ":")+1:]
}

func errorOf(r reply) string {
	var e struct{ Error string }
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// A SHA for deploy records (40 hex digits, different for each n).
func sha(n int) string { return fmt.Sprintf("%040x", n+1) }

func deployBody(n int) []byte {
	return []byte(fmt.Sprintf(`{"service":"payment-gateway","env":"prod","sha":%q,"finished_at":"2026-11-26T04:00:00Z"}`, sha(n)))
}

func argoBody(n int) []byte {
	return []byte(fmt.Sprintf(`{"app":{"metadata":{"name":"payment-gateway"},"status":{"sync":{"revision":%q},`+
		`"operationState":{"phase":"Succeeded","finishedAt":"2026-11-26T04:00:00Z"}}}}`, sha(n)))
}

// Each credential opens its own part of the HTTP surface once the API and
// the deploy records have tokens of their own.
func TestSeparateCredentials(t *testing.T) {
	t.Parallel()
	const apiToken, deployToken = "api-token-1", "deploy-token-2"
	h := start(t, func(c *bot.Config) {
		c.API.BearerToken = apiToken
		c.Deploys.BearerToken = deployToken
	})
	alert := fixture(t, "alertmanager/firing-high-error-rate.json")
	tokens := map[string]string{"webhook": testToken, "api": apiToken, "deploys": deployToken}
	n := 0
	tests := []struct {
		method, path string
		body         func() []byte
		accepts      string // the one credential that passes
	}{
		{"POST", "/api/v1/alerts/alertmanager", func() []byte { return alert }, "webhook"},
		{"POST", "/api/v1/alerts/grafana", func() []byte { return fixture(t, "grafana/firing-error-rate.json") }, "webhook"},
		{"GET", "/api/v1/incidents", nil, "api"},
		{"GET", "/api/v1/incidents/INC-1", nil, "api"},
		{"POST", "/api/v1/incidents/INC-1/note", func() []byte { return []byte(`{"text":"looking"}`) }, "api"},
		{"GET", "/api/v1/deploys", nil, "api"},
		{"POST", "/api/v1/deploys", func() []byte { n++; return deployBody(n) }, "deploys"},
		{"POST", "/api/v1/deploys/argocd", func() []byte { n++; return argoBody(n) }, "deploys"},
		{"POST", "/api/v1/incidents/INC-1/resolve", func() []byte { return []byte(`{"text":"done"}`) }, "api"},
	}
	for _, tc := range tests {
		// Refused first, so that a refused resolve would show.
		for _, who := range []string{"webhook", "api", "deploys"} {
			if who == tc.accepts {
				continue
			}
			s := send{method: tc.method, path: tc.path, hdr: map[string]string{"Authorization": "Bearer " + tokens[who], "Content-Type": "application/json"}}
			if tc.body != nil {
				s.body = tc.body()
			}
			if r := h.send(s); r.code != http.StatusUnauthorized || errorOf(r) != "invalid credentials" {
				t.Errorf("%s %s with the %s token: HTTP %d %s; want 401 invalid credentials", tc.method, tc.path, who, r.code, r.body)
			}
		}
		if tc.path == "/api/v1/incidents/INC-1/resolve" {
			v := decodeJSON[bot.IncidentView](t, h.send(send{method: "GET", path: "/api/v1/incidents/INC-1", hdr: map[string]string{"Authorization": "Bearer " + apiToken}}))
			if v.Incident == nil || v.State == incident.Resolved {
				t.Fatalf("INC-1 after refused resolves: %+v", v.Incident)
			}
		}
		s := send{method: tc.method, path: tc.path, hdr: map[string]string{"Authorization": "Bearer " + tokens[tc.accepts], "Content-Type": "application/json"}}
		if tc.body != nil {
			s.body = tc.body()
		}
		if r := h.send(s); r.code/100 != 2 {
			t.Errorf("%s %s with the %s token: HTTP %d %s; want 2xx", tc.method, tc.path, tc.accepts, r.code, r.body)
		}
	}
}

// Without tokens of their own, the API and the deploy records take the
// webhook's credentials, bearer or basic, as they always did; a token of
// the API's own leaves the deploy records on the webhook's.
func TestCredentialsDefaultToTheWebhooks(t *testing.T) {
	t.Parallel()
	basic := func(c *bot.Config) {
		c.Webhook.BearerToken = ""
		c.Webhook.BasicAuth = &bot.BasicAuth{Username: "am", Password: "pw"}
	}
	apiOnly := func(c *bot.Config) { c.API.BearerToken = "api-only" }
	tests := []struct {
		name   string
		mutate func(*bot.Config)
		auth   func(*http.Request)
		deploy func(*http.Request) // credential for the deploy records; nil: auth
		api    func(*http.Request) // credential for the API; nil: auth
	}{
		{"bearer", nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, nil, nil},
		{"basic", basic, func(r *http.Request) { r.SetBasicAuth("am", "pw") }, nil, nil},
		{"api token only", apiOnly, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, nil,
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer api-only") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tc.mutate)
			do := func(method, path string, body []byte, cred func(*http.Request)) int {
				req, _ := http.NewRequest(method, h.base+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				cred(req)
				return h.do(req).code
			}
			api, deploy := tc.auth, tc.auth
			if tc.api != nil {
				api = tc.api
			}
			if tc.deploy != nil {
				deploy = tc.deploy
			}
			eq(t, "alert", do("POST", "/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-high-error-rate.json"), tc.auth), 200)
			eq(t, "deploy", do("POST", "/api/v1/deploys", deployBody(1), deploy), 201)
			eq(t, "argocd", do("POST", "/api/v1/deploys/argocd", argoBody(2), deploy), 201)
			eq(t, "list", do("GET", "/api/v1/incidents", nil, api), 200)
			eq(t, "resolve", do("POST", "/api/v1/incidents/INC-1/resolve", []byte(`{}`), api), 200)
			if tc.api != nil {
				eq(t, "resolve with the webhook's token", do("POST", "/api/v1/incidents/INC-1/resolve", []byte(`{}`), tc.auth), 401)
				eq(t, "alert with the API's token", do("POST", "/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-high-error-rate.json"), api), 401)
			}
		})
	}
}
