package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/slackroom"
	islack "github.com/warroom/warroom/integrations/slack"
)

// CheckOnline asks Slack and Jira whether the config will work there:
// the tokens, the announce channel, the user groups, and the ticket's
// project, issue type, priorities and fields (against Jira's create
// metadata, once, rather than at every alert), and the follow-ups' issue
// type. It returns the problems
// found, none when all is well; systems in dry run are not asked.
func CheckOnline(ctx context.Context, cfg *config.Config) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !cfg.Slack.DryRun && cfg.Slack.BotToken != "" {
		for _, p := range checkSlack(ctx, cfg) {
			add("slack: %s", p)
		}
	}
	if !cfg.Jira.DryRun {
		for _, p := range checkJira(ctx, cfg) {
			add("jira: %s", p)
		}
	}
	return problems
}

func checkSlack(ctx context.Context, cfg *config.Config) []string {
	c := islack.New(string(cfg.Slack.BotToken), cfg.Slack.APIURL, nil)
	if _, err := c.BotUser(ctx); err != nil {
		return []string{fmt.Sprintf("bot_token: %v", err)}
	}
	var problems []string
	if name := strings.TrimPrefix(cfg.Slack.AnnounceChannel, "#"); name != "" && !slackroom.IsChannelID(name) {
		if _, found, err := c.FindChannel(ctx, name); err != nil {
			problems = append(problems, fmt.Sprintf("announce_channel: %v", err))
		} else if !found {
			problems = append(problems, fmt.Sprintf("announce_channel: no channel #%s the bot can see", name))
		}
	}
	groups := map[string]bool{}
	for _, r := range cfg.Slack.Responders {
		if strings.HasPrefix(r, "@") {
			groups[r] = true
		}
	}
	for _, who := range cfg.Slack.Permissions {
		for _, r := range who {
			if strings.HasPrefix(r, "@") {
				groups[r] = true
			}
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		if _, err := c.UserGroupMembers(ctx, g); err != nil {
			problems = append(problems, fmt.Sprintf("user group %s: %v", g, err))
		}
	}
	return problems
}

func checkJira(ctx context.Context, cfg *config.Config) []string {
	c, err := newJiraClient(cfg, nil)
	if err != nil {
		return []string{err.Error()}
	}
	if _, err := c.Myself(ctx); err != nil {
		return []string{fmt.Sprintf("auth: %v", err)}
	}
	var problems []string
	prios, err := c.Priorities(ctx)
	if err != nil {
		problems = append(problems, fmt.Sprintf("priorities: %v", err))
	}
	for sev, p := range cfg.Jira.Priorities {
		if err == nil && !slices.ContainsFunc(prios, func(x string) bool { return strings.EqualFold(x, p) }) {
			problems = append(problems, fmt.Sprintf("priorities.%s: no priority %q (Jira has %s)", sev, p, strings.Join(prios, ", ")))
		}
	}
	// Follow-ups are filed in the ticket's project (a rule's own project
	// aside), as issues of their own type.
	followups := cmp.Or(strings.TrimSpace(cfg.Jira.FollowupIssueType), steps.DefaultFollowupIssueType)
	if _, err := c.CreateFields(ctx, cfg.Jira.Project, followups); err != nil {
		problems = append(problems, fmt.Sprintf("followup_issue_type: %v", err))
	}
	fields, err := c.CreateFields(ctx, cfg.Jira.Project, cfg.Jira.IssueType)
	if err != nil {
		return append(problems, fmt.Sprintf("project %s, issue type %s: %v", cfg.Jira.Project, cfg.Jira.IssueType, err))
	}
	keys := make([]string, 0, len(cfg.Jira.Fields))
	for k := range cfg.Jira.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := fields[k]; !ok {
			problems = append(problems, fmt.Sprintf("fields.%s: not on the create screen of %s %s", k, cfg.Jira.Project, cfg.Jira.IssueType))
		}
	}
	return problems
}
