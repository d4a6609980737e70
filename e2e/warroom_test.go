package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// warroom is one warroom server configuration that may be started, killed
// and started again on the same files.
type warroom struct {
	t         *testing.T
	bin       string
	dir       string
	addr      string // host:port it listens on
	token     string // webhook and API bearer token
	config    string // path of the config file
	dryRunLog string // path of the dry-run side-effect log
	runs      int    // how many times it was started
	proc      *process
	client    *http.Client
}

// newWarroom writes a config for a warroom with its SQLite store and dry-run
// log in dir. It does not start it.
func newWarroom(t *testing.T, dir string) *warroom {
	t.Helper()
	w := &warroom{
		t:         t,
		bin:       requireWarroom(t),
		dir:       dir,
		addr:      fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		token:     randomToken(t),
		config:    filepath.Join(dir, "warroom.yaml"),
		dryRunLog: filepath.Join(dir, "dry-run.jsonl"),
		client:    &http.Client{Timeout: 15 * time.Second},
	}
	cfg := fmt.Sprintf(`listen: %q
storage:
  driver: sqlite
  dsn: %q
webhook:
  bearer_token: %q
dry_run_log: %q
# The crash tests open 30 war rooms at once on purpose: no cap on them.
limits:
  max_new_war_rooms_per_delivery: 1000
  max_new_war_rooms_per_minute: 1000
# The crash tests wait until every job is done; reminders are due minutes
# later (their restarts and replicas are tested in incident/).
reminders: {ack_within: 0s, update_every: 0s}
`, w.addr, filepath.Join(dir, "warroom.db"), w.token, w.dryRunLog)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write warroom config: %v", err)
	}
	return w
}

// addConfig appends yaml (top-level keys the config has not set yet, such
// as rules) to the config file.
func (w *warroom) addConfig(yaml string) {
	w.t.Helper()
	f, err := os.OpenFile(w.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		w.t.Fatalf("open warroom config: %v", err)
	}
	_, err = f.WriteString(yaml)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.t.Fatalf("append to warroom config: %v", err)
	}
}

// start runs `warroom serve`, waits until /readyz answers 200 and checks
// that /healthz does.
func (w *warroom) start() {
	w.t.Helper()
	w.runs++
	name := fmt.Sprintf("warroom (run %d)", w.runs)
	logPath := filepath.Join(w.dir, fmt.Sprintf("warroom-%d.log", w.runs))
	w.proc = startProcess(w.t, name, logPath, w.bin, "serve", "--config", w.config)
	waitFor(w.t, 30*time.Second, name+" to be ready", func() (bool, string) {
		code, body, err := w.do(context.Background(), http.MethodGet, "/readyz", nil)
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, fmt.Sprintf("GET /readyz: %d %s", code, truncate(string(body), 200))
	}, w.proc)
	if code, body, err := w.request(context.Background(), http.MethodGet, "/healthz", nil, ""); err != nil || code != http.StatusOK {
		w.t.Errorf("%s: GET /healthz: status %d, error %v, want 200; body %s", name, code, err, truncate(string(body), 200))
	}
}

// url returns the server URL of path.
func (w *warroom) url(path string) string { return "http://" + w.addr + path }

// do sends a request with the bearer token and returns status and body.
func (w *warroom) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	return w.request(ctx, method, path, body, "Bearer "+w.token)
}

// postAlertmanager delivers one Alertmanager webhook payload.
func (w *warroom) postAlertmanager(ctx context.Context, payload []byte) (int, []byte, error) {
	return w.do(ctx, http.MethodPost, "/api/v1/alerts/alertmanager", payload)
}

// request sends a request with the Authorization header set to auth (none
// if empty) and returns status and body.
func (w *warroom) request(ctx context.Context, method, path string, body []byte, auth string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.url(path), r)
	if err != nil {
		return 0, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// getJSON decodes the 200 answer to GET path into v.
func (w *warroom) getJSON(path string, v any) error {
	code, body, err := w.do(context.Background(), http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", path, code, truncate(string(body), 300))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w: %s", path, err, truncate(string(body), 300))
	}
	return nil
}

// apiIncident is the part of an incident in the JSON API the tests use.
type apiIncident struct {
	ID      string   `json:"id"`
	Key     string   `json:"key"`
	Service string   `json:"service"`
	Env     string   `json:"env"`
	Rule    string   `json:"rule"`
	State   string   `json:"state"`
	WarRoom bool     `json:"war_room"`
	Value   *float64 `json:"value"`
	Kind    string   `json:"kind"`
	Storm   string   `json:"storm"` // a storm's child: the storm's ID
}

func (i apiIncident) String() string {
	v := "nil"
	if i.Value != nil {
		v = fmt.Sprint(*i.Value)
	}
	return fmt.Sprintf("%s{service=%s env=%s state=%s war_room=%t value=%s}", i.ID, i.Service, i.Env, i.State, i.WarRoom, v)
}

// apiIncidentDetail is GET /api/v1/incidents/{id}.
type apiIncidentDetail struct {
	apiIncident
	Alerts []struct {
		Fingerprint string            `json:"fingerprint"`
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
	} `json:"alerts"`
	Timeline []json.RawMessage `json:"timeline"`
	// Jobs is nil when the server does not list them.
	Jobs []apiJob `json:"jobs"`
}

// apiJob is one side-effect step of an incident.
type apiJob struct {
	Key       string `json:"key"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	Attempt   int    `json:"attempt"`
	LastError string `json:"last_error"`
}

// terminal reports whether the job will not run again.
func (j apiJob) terminal() bool { return j.State == "completed" || j.State == "failed" }

// incidents lists incidents, with the recorded ones if all is set.
func (w *warroom) incidents(all bool) ([]apiIncident, error) {
	path := "/api/v1/incidents"
	if all {
		path += "?all=true"
	}
	var out struct {
		Incidents *[]apiIncident `json:"incidents"`
	}
	if err := w.getJSON(path, &out); err != nil {
		return nil, err
	}
	if out.Incidents == nil {
		return nil, fmt.Errorf("GET %s: no \"incidents\" key in the answer", path)
	}
	return *out.Incidents, nil
}

// incident fetches one incident with its alerts, timeline and jobs.
func (w *warroom) incident(id string) (*apiIncidentDetail, error) {
	var d apiIncidentDetail
	if err := w.getJSON("/api/v1/incidents/"+id, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// dryRunEntry is one line of the dry-run side-effect log: call N of the
// Of calls of a step's plan (Of 0: a step with no call, one line).
type dryRunEntry struct {
	Time     string          `json:"time"`
	Job      string          `json:"job"`
	Key      string          `json:"key"`
	Incident string          `json:"incident"`
	N        int             `json:"n"`
	Of       int             `json:"of"`
	System   string          `json:"system"`
	Method   string          `json:"method"`
	Args     json.RawMessage `json:"args"`
}

// dryRunLine is one line of the log with where it starts.
type dryRunLine struct {
	offset int64
	text   string
	entry  dryRunEntry
	err    error // not a complete JSON record
}

// readDryRunLog splits the dry-run log into lines. A last line without a
// newline is returned too (with err set if it does not parse). A missing
// file is an empty log.
func readDryRunLog(path string) ([]dryRunLine, int64, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var lines []dryRunLine
	var off int64
	for len(b) > 0 {
		text, rest, complete := bytes.Cut(b, []byte("\n"))
		l := dryRunLine{offset: off, text: string(text)}
		if err := json.Unmarshal(text, &l.entry); err != nil {
			l.err = err
		} else if l.entry.Key == "" {
			l.err = fmt.Errorf("no key")
		}
		if !complete && l.err == nil {
			l.err = fmt.Errorf("no newline at the end")
		}
		lines = append(lines, l)
		off += int64(len(text)) + 1
		b = rest
	}
	return lines, off, nil
}

// tornTail returns the incomplete last line of the log at path (the bytes
// after its last newline) and where it starts, or ok=false if the log ends
// with a newline.
func tornTail(path string) (offset int64, fragment string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || b[len(b)-1] == '\n' {
		return 0, "", false
	}
	i := bytes.LastIndexByte(b, '\n') + 1
	return int64(i), string(b[i:]), true
}

// countLines counts the newline-terminated lines of the file at path.
func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random token: %v", err)
	}
	return hex.EncodeToString(b)
}

// openingSteps are the job keys every war room enqueues when it opens
// (docs/ARCHITECTURE.md, the steps) that the dry run logs: correlate.gather runs for real
// (it only reads the store and the sources configured, none here).
func openingSteps(incidentID string) []string {
	var keys []string
	for _, kind := range []string{"slack.create_channel", "jira.create_issue"} {
		keys = append(keys, kind+":"+incidentID)
	}
	return keys
}

// summarize lists incidents on one line for failure messages.
func summarize(incs []apiIncident) string {
	var s []string
	for _, i := range incs {
		s = append(s, i.String())
	}
	return "[" + strings.Join(s, ", ") + "]"
}
