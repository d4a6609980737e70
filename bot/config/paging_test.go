package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPagerDuty(t *testing.T) {
	t.Parallel()
	const key = "R0123456789abcdef0123456789ABCDE"
	c := Default()
	if c.PagerDuty.URL != "https://events.pagerduty.com" || c.PagerDuty.Configured() || !c.PagerDutyDryRun() {
		t.Errorf("default: url %q, configured %v, dry run %v", c.PagerDuty.URL, c.PagerDuty.Configured(), c.PagerDutyDryRun())
	}
	if c.Reminders.AckWithinOr() != 5*time.Minute || c.Reminders.UpdateEveryFor(true) != 30*time.Minute || c.Reminders.UpdateEveryFor(false) != time.Hour {
		t.Errorf("reminder defaults: ack %v, update %v / %v", c.Reminders.AckWithinOr(), c.Reminders.UpdateEveryFor(true), c.Reminders.UpdateEveryFor(false))
	}

	c, err := Parse([]byte("pagerduty: {routing_key: \"${PD_KEY}\", url: \"https://pd.example\"}\nreminders: {ack_within: 2s, update_every: 10m}\n"), "pd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if problems := c.ResolveSecrets(".", envMap(map[string]string{"PD_KEY": key})); len(problems) > 0 {
		t.Fatal(problems)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if string(c.PagerDuty.RoutingKey) != key || c.PagerDuty.URL != "https://pd.example" || c.PagerDutyDryRun() {
		t.Errorf("pagerduty = %+v, dry run %v", c.PagerDuty, c.PagerDutyDryRun())
	}
	if c.Reminders.AckWithinOr() != 2*time.Second || c.Reminders.UpdateEveryFor(true) != 10*time.Minute || c.Reminders.UpdateEveryFor(false) != 10*time.Minute {
		t.Errorf("reminders = %v, %v", c.Reminders.AckWithinOr(), c.Reminders.UpdateEveryFor(true))
	}
	off, err := Parse([]byte("reminders: {ack_within: 0s, update_every: 0s}\n"), "off.yaml")
	if err != nil || off.Reminders.AckWithinOr() != 0 || off.Reminders.UpdateEveryFor(true) != 0 {
		t.Errorf("0 turns them off: %v", err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pd"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "warroom.yaml")
	if err := os.WriteFile(cfg, []byte("pagerduty: {routing_key_file: pd}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, problems, err := loadConfig(cfg, envMap(nil), os.ReadFile)
	if err != nil || len(problems) > 0 || string(c.PagerDuty.RoutingKey) != key {
		t.Errorf("routing_key_file: %v %v, a key of %d characters", err, problems, len(c.PagerDuty.RoutingKey))
	}
}

func TestConfigPagerDutyRefusesBadValues(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("pagerduty: {url: \"ftp://pd\"}\nreminders: {ack_within: -1s, update_every: -1m}\n"), "pd.yaml")
	for _, want := range []string{"pd.yaml:1: pagerduty.url", "pd.yaml:2: reminders.ack_within: -1s is negative (0 turns it off)", "pd.yaml:2: reminders.update_every: -1m0s is negative (0 turns it off)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse = %v, want %q", err, want)
		}
	}
	// The key's length is checked once it is resolved (it may be a
	// ${VAR} before), and the error does not show it.
	c, err := Parse([]byte("pagerduty: {routing_key: \"${PD}\"}\n"), "pd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.ResolveSecrets(".", envMap(map[string]string{"PD": "short-SECRET"}))
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "pagerduty.routing_key: must be 32 characters") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Validate = %v, want the length of the key, not the key", err)
	}
}
