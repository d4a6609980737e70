package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigIncidentPage(t *testing.T) {
	t.Parallel()
	const key = "0123456789abcdef0123456789abcdef-SECRET"
	c := Default()
	if c.IncidentPage.Signed() || c.IncidentPage.LinkTTLOr() != 30*24*time.Hour {
		t.Errorf("default: signed %v, ttl %v", c.IncidentPage.Signed(), c.IncidentPage.LinkTTLOr())
	}

	c, err := Parse([]byte("public_url: https://warroom.example.com\nincident_page: {signing_key: \"${PAGE_KEY}\", link_ttl: 48h}\n"), "page.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if problems := c.ResolveSecrets(".", envMap(map[string]string{"PAGE_KEY": key})); len(problems) > 0 {
		t.Fatal(problems)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if string(c.IncidentPage.SigningKey) != key || !c.IncidentPage.Signed() || c.IncidentPage.LinkTTLOr() != 48*time.Hour {
		t.Errorf("incident_page = %+v", c.IncidentPage)
	}
	if s := c.IncidentPage.SigningKey.String(); strings.Contains(s, "SECRET") {
		t.Errorf("the key shows: %q", s)
	}

	// The _file twin.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page-key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "warroom.yaml")
	if err := os.WriteFile(cfg, []byte("public_url: https://warroom.example.com\nincident_page: {signing_key_file: page-key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, problems, err := loadConfig(cfg, envMap(nil), os.ReadFile)
	if err != nil || len(problems) > 0 || string(c.IncidentPage.SigningKey) != key {
		t.Errorf("signing_key_file: %v %v, a key of %d characters", err, problems, len(c.IncidentPage.SigningKey))
	}
	// A key that cannot be read is unresolved: serve stops (D13).
	if err := os.WriteFile(cfg, []byte("public_url: https://warroom.example.com\nincident_page: {signing_key_file: missing}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _, err = loadConfig(cfg, envMap(nil), os.ReadFile); err != nil || !c.Unresolved("incident_page.signing_key") {
		t.Errorf("missing key file: %v, unresolved %v", err, c.UnresolvedSecrets())
	}
}

func TestConfigIncidentPageRefusesBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"incident_page: {link_ttl: 0s}\n", "page.yaml:1: incident_page.link_ttl: 0s is not above 0 and at most 8784h (366 days)"},
		{"incident_page: {link_ttl: 9000h}\n", "incident_page.link_ttl: 9000h0m0s is not above 0"},
		{"incident_page: {signing_key: a, signing_key_file: f}\n", "incident_page.signing_key and incident_page.signing_key_file are both set; use one"},
		{"incident_page: {signing_key_file: f}\n", "page.yaml:1: incident_page.signing_key: needs public_url, the address the page's links start with"},
	} {
		if _, err := Parse([]byte(tc.yaml), "page.yaml"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// The key's length is checked once it is resolved (it may be a
	// ${VAR} before), and the error does not show it.
	c, err := Parse([]byte("public_url: https://warroom.example.com\nincident_page: {signing_key: \"${K}\"}\n"), "page.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.ResolveSecrets(".", envMap(map[string]string{"K": "short-SECRET"}))
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "incident_page.signing_key: 12 characters; want at least 32") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Validate = %v, want the length of the key, not the key", err)
	}
}
