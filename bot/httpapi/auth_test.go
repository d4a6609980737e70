package httpapi

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
)

// A token that was configured but cannot be read lets nothing pass: it
// must not fall back to the webhook's credentials (which Alertmanager
// holds) or to none.
func TestCredentialUnresolvedLetsNothingPass(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "warroom.yaml")
	if err := os.WriteFile(path, []byte(`
webhook: {bearer_token: hook}
api: {bearer_token: "${MISSING_API_TOKEN}"}
deploys: {bearer_token_file: missing-file}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data, path)
	if err != nil {
		t.Fatal(err)
	}
	problems := c.ResolveSecrets(dir, func(string) (string, bool) { return "", false })
	if len(problems) != 2 || problems[0].Key != "api.bearer_token" || problems[1].Key != "deploys.bearer_token_file" {
		t.Errorf("problems %v; want the API's and the deploys' tokens", problems)
	}
	webhook, api, deploys := newCredentials(c)
	for _, tok := range []string{"hook", "", "${MISSING_API_TOKEN}"} {
		r := httptest.NewRequest("GET", "/", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		if got := webhook.check(r); (got == "") != (tok == "hook") {
			t.Errorf("webhook with %q: %q", tok, got)
		}
		if got := api.check(r); !strings.Contains(got, "api.bearer_token is configured but could not be read") {
			t.Errorf("api with %q: %q; want it refused", tok, got)
		}
		if got := deploys.check(r); !strings.Contains(got, "deploys.bearer_token is configured but could not be read") {
			t.Errorf("deploys with %q: %q; want it refused", tok, got)
		}
	}
	if api.open() || deploys.open() {
		t.Error("an unreadable token counts as no credential")
	}
}
