package bot_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// The incident page's settings in the tests: links start with pageBase
// and are signed with pageKey.
const (
	pageBase = "https://warroom.example.com"
	pageKey  = "incident-page-key-0123456789abcdef0123456789"
)

// pageRoom is a war room with evidence (two recorded deploys of
// payment-gateway, the recent one the suspect), a real Slack and Jira
// (fakes), and the incident page on listen and public_listen.
type pageRoom struct {
	h      *harness
	slack  *slacktest.Server
	jira   *jiratest.Server
	public string // http://public_listen
}

// startPageRoom opens the war room INC-1 of the payment-gateway fixture,
// its first alert changed by change (nil: as captured), under the
// settings of the page test and then mutate, and waits until its room
// and ticket are made.
func startPageRoom(t *testing.T, change func(labels, annotations map[string]any), mutate func(*config.Config)) *pageRoom {
	t.Helper()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	parsed, err := config.Parse([]byte(correlationConfig), "page.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
		c.Rules = parsed.Rules
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		c.PublicURL, c.PublicListen = pageBase, "127.0.0.1:0"
		c.IncidentPage.SigningKey = pageKey
		c.Links.AllowedHosts = append(c.Links.AllowedHosts, "ci.example.com")
		if mutate != nil {
			mutate(c)
		}
	})
	recent := fixtureStart.Add(-12 * time.Minute).Format(time.RFC3339)
	old := fixtureStart.Add(-3 * time.Hour).Format(time.RFC3339)
	for _, body := range []string{
		`{"service":"payment-gateway","env":"prod","sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"carol","finished_at":"` + old + `"}`,
		`{"service":"payment-gateway","env":"prod","sha":"9f8e7d6c5b4a39281706f5e4d3c2b1a098765432","previous_sha":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","author":"alice","url":"https://ci.example.com/runs/7","finished_at":"` + recent + `"}`,
	} {
		if r := h.deploy(body); r.code != http.StatusCreated {
			t.Fatalf("record deploy: %d %s", r.code, r.body)
		}
	}
	if change == nil {
		h.deliver("alertmanager/firing-high-error-rate.json")
	} else {
		h.sendAlerts(alteredFixture(t, change))
	}
	h.ticket(t, jiraFake, "INC-1")
	h.waitFor("the war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") && h.jiraSettled("INC-1") })
	return &pageRoom{h: h, slack: slackFake, jira: jiraFake, public: "http://" + h.srv.PublicAddr()}
}

// signedLink matches the page's link as the summary (JSON) and the
// ticket (wiki markup) carry it.
var signedLink = regexp.MustCompile(regexp.QuoteMeta(pageBase) + `/incidents/INC-1\?exp=[0-9]+(?:&|\\u0026)sig=[A-Za-z0-9_-]+`)

// link returns the page's link of the war room's summary.
func (r *pageRoom) link(t *testing.T) *url.URL {
	t.Helper()
	inc := r.h.incident("INC-1")
	ms := messagesOf(r.slack, inc.SlackChannelID, "warroom_summary")
	if len(ms) == 0 {
		t.Fatal("no summary")
	}
	m := signedLink.FindString(blocksText(ms[0]))
	if m == "" {
		t.Fatalf("the summary has no link to the page:\n%s", blocksText(ms[0]))
	}
	u, err := url.Parse(strings.ReplaceAll(m, `\u0026`, "&"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// at is the link u on the server at base (the test's listener stands
// for public_url).
func at(base string, u *url.URL) string { return base + u.RequestURI() }

// pageGet gets url with the Authorization header auth (none if "").
func pageGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The summary and the ticket link the page; the link opens it on
// listen and on public_listen; the API's token opens it too; without
// either, or with a link of another key, the page is 403.
func TestIncidentPageLinks(t *testing.T) {
	t.Parallel()
	r := startPageRoom(t, nil, nil)
	u := r.link(t)
	if s := summaryOf(t, r.slack, r.h.incident("INC-1").SlackChannelID); !strings.Contains(s, ":page_facing_up: <"+u.String()+"|Incident page>") {
		t.Errorf("the summary's line of the page:\n%s", s)
	}
	is, _ := r.jira.Issue(r.h.incident("INC-1").JiraKey)
	if !strings.Contains(is.Description, "* [Incident page|"+u.String()+"]") {
		t.Errorf("the ticket does not link %s:\n%s", u, is.Description)
	}
	for _, base := range []string{r.h.base, r.public} {
		code, body := pageGet(t, at(base, u), "")
		if code != http.StatusOK || !strings.Contains(body, "INC-1: payment-gateway error rate is 3.107%") || !strings.Contains(body, `id="suspect"`) {
			t.Errorf("%s: the signed link: %d\n%s", base, code, body)
		}
		if code, _ := pageGet(t, base+"/incidents/INC-1", "Bearer "+testToken); code != http.StatusOK {
			t.Errorf("%s: the API's token: %d", base, code)
		}
		if code, body := pageGet(t, base+"/incidents/INC-1", ""); code != http.StatusForbidden || strings.Contains(body, "payment") {
			t.Errorf("%s: no credential: %d %q", base, code, body)
		}
		q := u.Query()
		q.Set("exp", "9999999999")
		if code, _ := pageGet(t, base+"/incidents/INC-1?"+q.Encode(), ""); code != http.StatusForbidden {
			t.Errorf("%s: a later expiry: %d", base, code)
		}
	}
	// The list takes the token, and links the page signed.
	if code, body := pageGet(t, r.public+"/incidents", "Bearer "+testToken); code != http.StatusOK || !strings.Contains(body, `href="/incidents/INC-1?exp=`) {
		t.Errorf("the list: %d\n%s", code, body)
	}
	if code, _ := pageGet(t, r.public+"/incidents", ""); code != http.StatusForbidden {
		t.Errorf("the list without the token: %d", code)
	}
}

// Without a signing key no link is made, and only the API's token opens
// the page; on public_listen, an API without credentials (loopback mode)
// does not open it to everyone.
func TestIncidentPageUnsigned(t *testing.T) {
	t.Parallel()
	r := startPageRoom(t, nil, func(c *config.Config) { c.IncidentPage.SigningKey = "" })
	inc := r.h.incident("INC-1")
	if s := blocksText(messagesOf(r.slack, inc.SlackChannelID, "warroom_summary")[0]); strings.Contains(s, "/incidents/") {
		t.Errorf("a page link without a key:\n%s", s)
	}
	if is, _ := r.jira.Issue(inc.JiraKey); strings.Contains(is.Description, "Incident page") {
		t.Errorf("a page link in the ticket without a key:\n%s", is.Description)
	}
	if code, _ := pageGet(t, r.public+"/incidents/INC-1", "Bearer "+testToken); code != http.StatusOK {
		t.Errorf("the token: %d", code)
	}
	if code, _ := pageGet(t, r.public+"/incidents/INC-1", ""); code != http.StatusForbidden {
		t.Errorf("no credential: %d", code)
	}

	// Loopback mode: the API takes no credentials; listen opens the page
	// as it opens the API, public_listen does not.
	open := start(t, func(c *config.Config) {
		c.Webhook.BearerToken = ""
		c.PublicListen = "127.0.0.1:0"
	})
	open.post("/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-high-error-rate.json"), nil)
	open.waitFor("INC-1", func() bool { return open.get("/api/v1/incidents/INC-1").code == http.StatusOK })
	if code, _ := pageGet(t, open.base+"/incidents/INC-1", ""); code != http.StatusOK {
		t.Errorf("loopback listen: %d", code)
	}
	if code, _ := pageGet(t, "http://"+open.srv.PublicAddr()+"/incidents/INC-1", ""); code != http.StatusForbidden {
		t.Errorf("public_listen of a loopback API: %d", code)
	}
}
