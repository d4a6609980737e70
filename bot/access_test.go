package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
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

// Without webhook credentials warroom listens on loopback only; these are
// the checks that keep a web page in a browser on the same machine from
// writing through it or, with DNS rebinding, reading it.
func TestLoopbackModeRefusesBrowsers(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *config.Config) { c.Webhook.BearerToken = "" })
	alert := fixture(t, "alertmanager/firing-high-error-rate.json")
	if r := h.send(send{method: "POST", path: "/api/v1/alerts/alertmanager", body: alert, hdr: map[string]string{"Content-Type": "application/json"}}); r.code != http.StatusOK {
		t.Fatalf("setup delivery: HTTP %d %s", r.code, r.body)
	}
	port := h.port()
	local := "127.0.0.1:" + port
	json := map[string]string{"Content-Type": "application/json"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const (
		alerts  = "/api/v1/alerts/alertmanager"
		resolve = "/api/v1/incidents/INC-1/resolve"
		list    = "/api/v1/incidents"
	)
	tests := []struct {
		name   string
		req    send
		status int
		reason string
	}{
		// Content types: a page can send no type, text/plain or a form
		// without a preflight.
		{"alert without content type", send{method: "POST", path: alerts, body: alert}, 415, "no content type; want application/json"},
		{"alert as text/plain", send{method: "POST", path: alerts, body: alert, hdr: with("Content-Type", "text/plain")}, 415, `content type "text/plain"`},
		{"alert as a form", send{method: "POST", path: alerts, body: alert, hdr: with("Content-Type", "application/x-www-form-urlencoded")}, 415, "want application/json"},
		{"alert as application/json-seq", send{method: "POST", path: alerts, body: alert, hdr: with("Content-Type", "application/json-seq")}, 415, "want application/json"},
		{"alert as malformed type", send{method: "POST", path: alerts, body: alert, hdr: with("Content-Type", "application/json; charset")}, 415, "want application/json"},
		{"alert as JSON, any case, with charset", send{method: "POST", path: alerts, body: alert, hdr: with("Content-Type", "Application/JSON; charset=UTF-8")}, 200, ""},
		{"resolve as text/plain", send{method: "POST", path: resolve, body: []byte(`{"text":"x"}`), hdr: with("Content-Type", "text/plain;charset=UTF-8")}, 415, "want application/json"},
		{"resolve without body or type", send{method: "POST", path: resolve}, 415, "no content type"},
		{"deploy without type", send{method: "POST", path: "/api/v1/deploys", body: deployBody(1)}, 415, "no content type"},
		{"argocd without type", send{method: "POST", path: "/api/v1/deploys/argocd", body: argoBody(2)}, 415, "no content type"},

		// Host: DNS rebinding makes a page's own name point at 127.0.0.1.
		{"rebound name", send{method: "GET", path: list, host: "attacker.example:" + port}, 421, `host "attacker.example:` + port + `" is not this server`},
		{"rebound name, no port", send{method: "GET", path: list, host: "attacker.example"}, 421, "guard against DNS rebinding"},
		{"localhost name under attacker", send{method: "GET", path: list, host: "localhost.attacker.example:" + port}, 421, "is not this server"},
		{"loopback on another port", send{method: "GET", path: list, host: "127.0.0.1:1"}, 421, "on port " + port},
		{"rebound name on health", send{method: "GET", path: "/healthz", host: "attacker.example:" + port}, 421, "is not this server"},
		{"rebound name on metrics", send{method: "GET", path: "/metrics", host: "attacker.example:" + port}, 421, "is not this server"},
		{"rebound write", send{method: "POST", path: resolve, body: []byte(`{}`), host: "attacker.example:" + port, hdr: json}, 421, "is not this server"},
		{"127.0.0.1", send{method: "GET", path: list, host: local}, 200, ""},
		{"localhost", send{method: "GET", path: list, host: "LocalHost:" + port}, 200, ""},
		{"[::1]", send{method: "GET", path: list, host: "[::1]:" + port}, 200, ""},

		// Origin and Sec-Fetch-Site say a page made the browser send it.
		{"cross-site fetch", send{method: "GET", path: list, hdr: with("Sec-Fetch-Site", "cross-site")}, 403, "refused a cross-site request from a browser"},
		{"same-site fetch (another port)", send{method: "GET", path: list, hdr: with("Sec-Fetch-Site", "same-site")}, 403, "refused a same-site request"},
		{"cross-site write", send{method: "POST", path: resolve, body: []byte(`{}`), hdr: with("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site")}, 403, "from a browser"},
		{"foreign origin", send{method: "POST", path: resolve, body: []byte(`{}`), hdr: with("Content-Type", "application/json", "Origin", "https://attacker.example")}, 403, `origin "https://attacker.example"`},
		{"origin on another port", send{method: "GET", path: list, hdr: with("Origin", "http://127.0.0.1:3000")}, 403, "another origin"},
		{"null origin", send{method: "GET", path: list, hdr: with("Origin", "null")}, 403, `origin "null"`},
		{"same origin", send{method: "GET", path: list, hdr: with("Origin", "http://"+local, "Sec-Fetch-Site", "same-origin")}, 200, ""},
		{"typed in the address bar", send{method: "GET", path: list, hdr: with("Sec-Fetch-Site", "none")}, 200, ""},

		// Slack's endpoints come from Slack (or a tunnel) with a public
		// Host and are guarded by their signature; here Slack is not
		// configured, so they answer 503 whatever the Host.
		{"slack with a public host", send{method: "POST", path: "/slack/commands", body: []byte("text=help"), host: "warroom.example.com",
			hdr: with("Content-Type", "application/x-www-form-urlencoded")}, 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(tc.req)
			if r.code != tc.status {
				t.Fatalf("HTTP %d %s; want %d", r.code, r.body, tc.status)
			}
			if e := errorOf(r); !strings.Contains(e, tc.reason) || strings.Contains(e, "\n") {
				t.Errorf("reason %q; want one line with %q", e, tc.reason)
			}
		})
	}
	v := h.incident("INC-1")
	if v.State == incident.Resolved {
		t.Error("a refused request resolved INC-1")
	}
	if ds := decodeJSON[struct{ Deploys []incident.Deploy }](t, h.get("/api/v1/deploys")).Deploys; len(ds) != 0 {
		t.Errorf("refused requests recorded deploys: %+v", ds)
	}
}

// With webhook credentials the listener may face a network, reverse
// proxies send their own Host, and the credential keeps browsers out: no
// Host or Origin checks. JSON is still required, except from Argo CD,
// which sends no type unless told to.
func TestAuthenticatedModeChecksContentTypeOnly(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	auth := "Bearer " + testToken
	tests := []struct {
		name   string
		req    send
		status int
	}{
		{"proxied host", send{method: "GET", path: "/api/v1/incidents", host: "warroom.example.com", hdr: map[string]string{"Authorization": auth}}, 200},
		{"alert without type", send{method: "POST", path: "/api/v1/alerts/alertmanager", body: fixture(t, "alertmanager/firing-high-error-rate.json"),
			hdr: map[string]string{"Authorization": auth}}, 415},
		{"deploy as text/plain", send{method: "POST", path: "/api/v1/deploys", body: deployBody(1), hdr: map[string]string{"Authorization": auth, "Content-Type": "text/plain"}}, 415},
		{"argocd without type", send{method: "POST", path: "/api/v1/deploys/argocd", body: argoBody(2), hdr: map[string]string{"Authorization": auth}}, 201},
		{"argocd as text/plain", send{method: "POST", path: "/api/v1/deploys/argocd", body: argoBody(3), hdr: map[string]string{"Authorization": auth, "Content-Type": "text/plain"}}, 415},
		{"argocd without type or credentials", send{method: "POST", path: "/api/v1/deploys/argocd", body: argoBody(4)}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := h.send(tc.req); r.code != tc.status {
				t.Errorf("HTTP %d %s; want %d", r.code, r.body, tc.status)
			}
		})
	}
}

// Each credential opens its own part of the HTTP surface once the API and
// the deploy records have tokens of their own.
func TestSeparateCredentials(t *testing.T) {
	t.Parallel()
	const apiToken, deployToken = "api-token-1", "deploy-token-2"
	h := start(t, func(c *config.Config) {
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
			v := decodeJSON[httpapi.IncidentView](t, h.send(send{method: "GET", path: "/api/v1/incidents/INC-1", hdr: map[string]string{"Authorization": "Bearer " + apiToken}}))
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
	basic := func(c *config.Config) {
		c.Webhook.BearerToken = ""
		c.Webhook.BasicAuth = &config.BasicAuth{Username: "am", Password: "pw"}
	}
	apiOnly := func(c *config.Config) { c.API.BearerToken = "api-only" }
	tests := []struct {
		name   string
		mutate func(*config.Config)
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
