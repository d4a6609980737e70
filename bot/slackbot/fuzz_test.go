package slackbot

// FuzzSlackCommand runs briefly from scripts/test (go test -fuzz); without
// -fuzz it replays its seeds as a test.

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/alertmanager/payload"
	"github.com/warroom/warroom/internal/fixtures"
)

const fuzzSigningSecret = "fuzz-signing-secret-0123456789abcdef"

// mentionRef matches the references a reply may make: users by ID.
var mentionRef = regexp.MustCompile(`<@[UW][A-Z0-9]{1,31}>`)

// FuzzSlackCommand sends signed /warroom form bodies through the HTTP
// surface of a real server (SQLite store, dry run): whatever the form and
// the command text, the answer is 200 with a reply or 400, the reply never
// carries a special mention or a mention the bot did not make, and never
// the signing secret.
func FuzzSlackCommand(f *testing.F) {
	form := func(text string) string {
		return url.Values{"team_id": {"T1"}, "channel_id": {"C0GENERAL"}, "user_id": {"U0ALICE"}, "user_name": {"alice"},
			"command": {"/warroom"}, "text": {text}, "response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"1.2.x"}}.Encode()
	}
	for _, text := range []string{"", "help", "list", "status INC-1", "ack INC-1", "mitigate 1", "resolve INC-1 rolled back",
		"assign INC-1 <@U0BOB> commander", "note INC-1 <!channel> see <https://evil.example|here> &amp;", "timeline INC-1",
		"deploys payment-gateway", "silence INC-1 1h", "rollback INC-1", "INC-1", "declare", "declare x\ty", "ASSIGN inc-1 @here comms"} {
		f.Add(form(text))
	}
	// A war room declared from each captured alert's labels and summary.
	names, _ := fs.Glob(fixtures.FS, "*/*.json")
	for _, n := range names {
		var m payload.Message
		if b, err := fixtures.Read(n); err == nil && json.Unmarshal(b, &m) == nil && len(m.Alerts) > 0 {
			a := m.Alerts[0]
			f.Add(form("declare " + a.Labels["service"] + " " + a.Annotations["summary"]))
		}
	}
	f.Add("text=%zz&user_id=U1")
	f.Add("payload=%7B%7D&text=help&user_id=U0ALICE&user_id=U0BOB")

	env := newTestEnv(f, nil, nil, fuzzSigningSecret, "")
	bot := New(env.deps)
	hooks := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Cleanup(hooks.Close)
	mux := http.NewServeMux()
	bot.Routes(mux)
	h := http.Handler(mux)
	var n int64
	f.Fuzz(func(t *testing.T, body string) {
		// Each input is a new request to Slack's eyes: fresh answers, so
		// that a repeated input is not a replay.
		bot.answers = newAnswerCache(slackAnswerTTL, slackMaxAnswers, time.Now)
		bot.responsePrefix = hooks.URL + "/" // never the real hooks.slack.com
		n++
		ts := strconv.FormatInt(time.Now().Unix()-n%60, 10)
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdrSlackTimestamp, ts)
		req.Header.Set(hdrSlackSignature, signFuzz(ts, body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		reply := w.Body.String()
		if strings.Contains(reply, fuzzSigningSecret) {
			t.Fatalf("reply carries the signing secret: %s", reply)
		}
		switch w.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		default:
			t.Fatalf("status %d: %s", w.Code, reply)
		}
		var msg slackMessage
		if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil {
			t.Fatalf("reply is not a message: %v: %s", err, reply)
		}
		if msg.ResponseType != "ephemeral" && msg.ResponseType != "in_channel" || strings.TrimSpace(msg.Text) == "" {
			t.Fatalf("reply %+v", msg)
		}
		// The command text is untrusted: a reply that repeats it must
		// not ping anyone or link anywhere on its behalf.
		// "<@user>" is the placeholder of the usage lines.
		rest := strings.ReplaceAll(mentionRef.ReplaceAllString(msg.Text, ""), "<@user>", "")
		if strings.Contains(rest, "<!") || strings.Contains(rest, "<@") || strings.Contains(rest, "<http") {
			t.Fatalf("reply carries a mention or link from the input: %q", msg.Text)
		}
	})
}

func signFuzz(ts, body string) string { return signSlack(fuzzSigningSecret, ts, body) }
