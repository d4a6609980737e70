package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warroom.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The mistakes a new user makes are errors, each at its file and line.
func TestCheckFindsRealMistakes(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `jira:
  url: https://example.atlassian.net
  issue_type: Incident
rules:
  - name: api-error-rate
    match: '{alertname="HighErrorRate"'
  - name: latency
    match: '{alertname="HighLatency"}'
    threshold: 0.8
  - name: everything-else
    match: '{}'
    decision: record
`)
	c, ds := check(path, envMap(nil), os.ReadFile)
	if c != nil {
		t.Error("a config with errors came back")
	}
	var got []string
	for _, d := range ds {
		if d.Level != LevelError || d.File != path {
			t.Errorf("%+v: want an error in %s", d, path)
		}
		got = append(got, d.String())
	}
	want := []string{
		path + `:1: jira.project: required when jira.url is set (the project key, e.g. OPS)`,
		path + `:6: rules[0] (api-error-rate): bad matcher "{alertname=\"HighErrorRate\"": 0:26: end of input: expected close brace`,
		path + `:9: rules[1] (latency): bad threshold: 0.8 is a ratio of 80%: did you mean "0.8%"? (a rule meaning 80% writes "80%")`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("diagnostics\n%q\nwant\n%q", got, want)
	}
}

func TestCheckWarnings(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `slack:
  bot_token: "${NO_SUCH_TOKEN}"
rules:
  - name: api-error-rate
    match: '{alertname=~"HighErrorRate|PodErrorRate"}'
  - name: anything-in-prod
    match: '{env="prod"}'
    decision: record
`)
	c, ds := check(path, envMap(nil), os.ReadFile)
	if c == nil {
		t.Fatalf("config refused: %v", ds)
	}
	var got []string
	for _, d := range ds {
		if d.Level != LevelWarning {
			t.Errorf("%+v: want a warning", d)
		}
		got = append(got, d.String())
	}
	want := []string{
		path + `:2: slack.bot_token: environment variable NO_SUCH_TOKEN is not set`,
		path + `:3: rules: no rule matches every alert, so an alert that none matches is ignored (end the list with one that does, e.g. {name: everything-else, match: '{}', decision: record})`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("diagnostics\n%q\nwant\n%q", got, want)
	}

	// A catch-all rule, or none (the built-in default), leaves no alert out.
	for _, rules := range []string{
		"rules:\n  - name: all\n    match: '{alertname=~\".*\"}'\n",
		"listen: 127.0.0.1:9095\n",
	} {
		if _, ds := check(writeConfig(t, rules), envMap(nil), os.ReadFile); len(ds) != 0 {
			t.Errorf("%q: %v", rules, ds)
		}
	}
}
