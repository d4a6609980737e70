package bot

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
	"github.com/warroom/warroom/internal/fixtures"
)

// The fuzz targets run briefly from scripts/test (go test -fuzz, one
// target per run); without -fuzz they replay their seeds and corpus
// (testdata/fuzz) as ordinary tests.

// addFixtures seeds f with the captured payloads under dir.
func addFixtures(f *testing.F, dir string) {
	f.Helper()
	names, err := fs.Glob(fixtures.FS, dir+"/*.json")
	if err != nil || len(names) == 0 {
		f.Fatalf("fixtures under %s: %v", dir, err)
	}
	for _, n := range names {
		b, err := fixtures.Read(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkOneLine fails when msg is not a short, non-empty, single line of
// valid UTF-8: what a sender or an operator is shown.
func checkOneLine(t *testing.T, what, msg string) {
	t.Helper()
	if strings.TrimSpace(msg) == "" || strings.ContainsAny(msg, "\n\r") || !utf8.ValidString(msg) || len(msg) > 512 {
		t.Fatalf("%s: %q is not one short line", what, msg)
	}
}

func fuzzDecode(f *testing.F, version, dir string) {
	addFixtures(f, dir)
	f.Add([]byte(`{"version":"` + version + `","status":"firing","truncatedAlerts":-1,"alerts":[]}`))
	f.Add([]byte(`{"version":"` + version + `","status":"firing","alerts":[{"status":"firing","fingerprint":"a","labels":{"a":"\u0000"},"startsAt":"2026-01-01T00:00:00Z","values":{"B":1e308}}]}`))
	s := &Server{cfg: config.Default()}
	decode := func(body []byte) (*payload.Message, int, error) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/alerts/x", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		return s.decode(httptest.NewRecorder(), req, version)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, status, err := decode(body)
		if err != nil {
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge && status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d for %v", status, err)
			}
			checkOneLine(t, "decode error", err.Error())
			return
		}
		// A payload accepted once is accepted again after a round trip,
		// and the round trip changes nothing.
		if err := msg.Validate(version); err != nil {
			t.Fatalf("decoded payload does not validate: %v", err)
		}
		again, err := json.Marshal(msg)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		msg2, _, err := decode(again)
		if err != nil {
			t.Fatalf("re-encoded payload refused: %v\n%s", err, again)
		}
		if twice, _ := json.Marshal(msg2); string(twice) != string(again) {
			t.Fatalf("round trip changed the payload:\n%s\n%s", again, twice)
		}
		d := toDelivery(msg, "alertmanager", time.Unix(1764900000, 0))
		if len(d.Alerts) != len(msg.Alerts) || d.TruncatedAlerts < 0 {
			t.Fatalf("delivery of %d alerts (truncated %d) from %d", len(d.Alerts), d.TruncatedAlerts, len(msg.Alerts))
		}
		for _, a := range d.Alerts {
			if a.Labels == nil || a.Annotations == nil || a.Fingerprint == "" {
				t.Fatalf("alert %+v lacks labels, annotations or a fingerprint", a)
			}
		}
	})
}

// FuzzDecodeAlertmanager attacks the Alertmanager webhook decoder.
func FuzzDecodeAlertmanager(f *testing.F) {
	fuzzDecode(f, payload.VersionAlertmanager, "alertmanager")
}

// FuzzDecodeGrafana attacks the Grafana webhook decoder.
func FuzzDecodeGrafana(f *testing.F) { fuzzDecode(f, payload.VersionGrafana, "grafana") }

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

	dir := f.TempDir()
	cfg := config.Default()
	cfg.Storage.DSN = filepath.Join(dir, "warroom.db")
	cfg.DryRunLog = filepath.Join(dir, "dryrun.jsonl")
	cfg.Slack.SigningSecret = fuzzSigningSecret
	srv, err := New(context.Background(), cfg, Deps{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	hooks := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Cleanup(hooks.Close)
	h := srv.Handler()
	var n int64
	f.Fuzz(func(t *testing.T, body string) {
		// Each input is a new request to Slack's eyes: fresh answers, so
		// that a repeated input is not a replay.
		srv.slack.answers = newAnswerCache(slackAnswerTTL, slackMaxAnswers, time.Now)
		srv.slack.responsePrefix = hooks.URL + "/" // never the real hooks.slack.com
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
