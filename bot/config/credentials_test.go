package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The API's and the deploy records' tokens are read like every secret:
// value, ${ENV} or _file; and they never show.
func TestCredentialsConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deploy-token"), []byte("deploy-SECRET-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "warroom.yaml")
	if err := os.WriteFile(path, []byte(`
webhook: {bearer_token: webhook-SECRET-0}
api: {bearer_token: "${API_TOKEN}"}
deploys: {lookback: 1h, bearer_token_file: deploy-token}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, problems, err := loadConfig(path, envMap(map[string]string{"API_TOKEN": "api-SECRET-1"}), os.ReadFile)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Load: %v %v", err, problems)
	}
	if string(c.API.BearerToken) != "api-SECRET-1" || string(c.Deploys.BearerToken) != "deploy-SECRET-2" {
		t.Errorf("tokens %q %q", string(c.API.BearerToken), string(c.Deploys.BearerToken))
	}
	js, _ := json.Marshal(c)
	ys, _ := yaml.Marshal(c)
	for how, out := range map[string]string{"json": string(js), "yaml": string(ys), "fmt": fmt.Sprintf("%+v", c)} {
		if strings.Contains(out, "SECRET") {
			t.Errorf("%s shows a token: %s", how, out)
		}
	}
	if !strings.Contains(string(js), `"api":{"bearer_token":"\u003csecret\u003e"`) {
		t.Errorf("json does not show the API token as <secret>: %s", js)
	}

	both := []byte("api: {bearer_token: a, bearer_token_file: f}\ndeploys: {bearer_token: a, bearer_token_file: f}\n")
	_, err = Parse(both, "both.yaml")
	for _, key := range []string{"api.bearer_token and api.bearer_token_file", "deploys.bearer_token and deploys.bearer_token_file"} {
		if err == nil || !strings.Contains(err.Error(), key+" are both set") {
			t.Errorf("both set: %v; want %q", err, key)
		}
	}
}
