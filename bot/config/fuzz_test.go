package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FuzzConfig runs briefly from scripts/test (go test -fuzz); without
// -fuzz it replays its seeds and corpus (testdata/fuzz) as a test.

// secretPaths are the config keys that hold secrets.
var secretPaths = [][]string{
	{"webhook", "bearer_token"}, {"webhook", "basic_auth", "password"}, {"slack", "bot_token"}, {"slack", "signing_secret"},
	{"slack", "app_token"}, {"jira", "auth", "api_token"}, {"jira", "auth", "personal_access_token"}, {"grafana", "token"},
	{"rollback", "webhook_secret"}, {"deploys", "git", "token"},
}

// secretValues digs the secrets out of a config document leniently, so
// that a check can look for them where they must not be.
func secretValues(data []byte) []string {
	var doc map[string]any
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	for _, p := range secretPaths {
		var cur any = doc
		for _, k := range p {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[k]
		}
		// Short values could appear in an error by chance (a key name).
		if s, ok := cur.(string); ok && len(s) >= 8 {
			out = append(out, s)
		}
	}
	return out
}

// FuzzConfig attacks the strict config parser and its validation: no
// panic; a config it accepts validates again and prints no secret; every
// error line names the file and leaks no secret of the input.
func FuzzConfig(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "warroom.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("slack:\n  bot_token: xoxb-SEKRIT-123456\n  bot_tokn: x\nwebhook:\n  max_body_bytes: -1\n"))
	f.Add([]byte("slack:\n  bot_token: [xoxb-SEKRIT-123456]\n"))
	f.Add([]byte("limits:\n  max_new_war_rooms_per_minute: 0x10\n"))
	f.Add([]byte("slack: ééééééé\n")) // the yaml package quotes 7 bytes of it: half a character
	f.Add([]byte("rules:\n  - name: r\n    match: '{a=~\"(\"}'\n    threshold: 1e309\n"))
	if entries, err := os.ReadDir(filepath.Join("testdata", "config")); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join("testdata", "config", e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		secrets := secretValues(data)
		if err != nil {
			text := err.Error()
			for _, line := range strings.Split(text, "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") || !utf8.ValidString(line) {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Fatalf("error shows the secret %q:\n%s", s, text)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		shown, _ := json.Marshal(c)
		printed := fmt.Sprintf("%v %+v", c, c)
		for _, s := range secrets {
			if strings.Contains(string(shown), s) || strings.Contains(printed, s) {
				t.Fatalf("config shows the secret %q", s)
			}
		}
	})
}
