package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// check-config --online asks Slack and Jira; what they would refuse is
// named, and a config they accept has no problem.
func TestCheckOnline(t *testing.T) {
	t.Parallel()
	slackFake := workspace(t)
	jiraFake := jiratest.New()
	t.Cleanup(jiraFake.Close)
	jiraFake.AddCustomField("customfield_10100", "Team", true)
	jiraFake.AddProject("OPS", "Operations", "Task") // follow-ups are tasks
	newConfig := func(mutate func(*config.Config)) *config.Config {
		cfg := config.Default()
		cfg.Slack.BotToken, cfg.Slack.APIURL, cfg.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
		cfg.Slack.AnnounceChannel, cfg.Slack.Responders = "reliability-alert", []string{"@sre-oncall"}
		cfg.Jira.URL, cfg.Jira.DryRun, cfg.Jira.Deployment = jiraFake.URL(), false, "cloud"
		cfg.Jira.Auth.Email, cfg.Jira.Auth.APIToken = jiratest.DefaultEmail, jiratest.DefaultAPIToken
		cfg.Jira.Project, cfg.Jira.IssueType = "OPS", "Incident"
		cfg.Jira.Fields = map[string]any{"customfield_10100": "payments"}
		if mutate != nil {
			mutate(cfg)
		}
		return cfg
	}
	if bad := bot.CheckOnline(context.Background(), newConfig(nil)); len(bad) != 0 {
		t.Fatalf("a good config: %q", bad)
	}
	bad := bot.CheckOnline(context.Background(), newConfig(func(c *config.Config) {
		c.Slack.AnnounceChannel = "no-such-channel"
		c.Slack.Permissions = map[string][]string{"resolve": {"@no-such-group"}}
		c.Jira.Priorities["critical"] = "Urgent"
		c.Jira.Fields["customfield_10010"] = "x"
		c.Jira.FollowupIssueType = "Chore"
	}))
	got := strings.Join(bad, "\n")
	for _, want := range []string{
		"slack: announce_channel: no channel #no-such-channel",
		"slack: user group @no-such-group",
		`jira: priorities.critical: no priority "Urgent"`,
		"jira: fields.customfield_10010: not on the create screen of OPS Incident",
		`jira: followup_issue_type: jira: project OPS has no issue type "Chore"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "customfield_10100") {
		t.Errorf("a field on the screen reported:\n%s", got)
	}
	bad = bot.CheckOnline(context.Background(), newConfig(func(c *config.Config) {
		c.Slack.BotToken = "xoxb-wrong"
		c.Jira.Auth.APIToken = "wrong"
	}))
	got = strings.Join(bad, "\n")
	if !strings.Contains(got, "slack: bot_token") || !strings.Contains(got, "jira: auth") || strings.Contains(got, "wrong") {
		t.Errorf("bad credentials: %q (and never the secret)", bad)
	}
}
