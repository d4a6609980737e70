package config

import (
	"regexp"
	"slices"
	"strings"
)

// Slack configures the Slack side.
type Slack struct {
	BotToken          Secret `yaml:"bot_token" json:"bot_token"`
	BotTokenFile      string `yaml:"bot_token_file" json:"bot_token_file"`
	SigningSecret     Secret `yaml:"signing_secret" json:"signing_secret"`
	SigningSecretFile string `yaml:"signing_secret_file" json:"signing_secret_file"`
	// AppToken (xapp-…) selects Socket Mode instead of public HTTP endpoints.
	AppToken     Secret `yaml:"app_token" json:"app_token"`
	AppTokenFile string `yaml:"app_token_file" json:"app_token_file"`
	// APIURL points the client at a test double.
	APIURL string `yaml:"api_url" json:"api_url"`
	// AnnounceChannel gets one line per war room (name or ID).
	AnnounceChannel string `yaml:"announce_channel" json:"announce_channel"`
	// ChannelPrefix starts war-room channel names; default "inc".
	ChannelPrefix   string `yaml:"channel_prefix" json:"channel_prefix"`
	PrivateChannels bool   `yaml:"private_channels" json:"private_channels"`
	// ArchiveAfter is the time from resolve to archive; an explicit 0
	// means never. Nil (unset) becomes 24h in a Config from Load, Parse or
	// Default.
	ArchiveAfter *Duration `yaml:"archive_after" json:"archive_after"`
	// Responders are invited to every war room: user IDs (U…), user-group
	// handles (@…), emails.
	Responders []string `yaml:"responders" json:"responders"`
	// Permissions maps a /warroom action (see PermissionActions) to who
	// may do it: user IDs, user-group handles, or "commander". An action
	// without an entry is open to everyone, except assign while another
	// entry lists "commander" (see permission in package slackbot).
	Permissions map[string][]string `yaml:"permissions" json:"permissions"`
	// DryRun logs the calls instead of making them. It is forced on when
	// no bot token is configured, and by the top-level dry_run.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
}

// PermissionActions returns the /warroom actions slack.permissions may
// restrict.
func PermissionActions() []string {
	return []string{
		"ack", "assign", "declare", "deploys", "followup", "help", "list", "mitigate", "note",
		"reopen", "resolve", "rollback", "severity", "silence", "status", "timeline",
	}
}

var channelPrefixSyntax = regexp.MustCompile(`^[a-z0-9_-]{1,20}$`)

func (s *Slack) validate(bad func(string, ...any)) {
	checkURL(bad, "slack.api_url", s.APIURL)
	if !channelPrefixSyntax.MatchString(s.ChannelPrefix) {
		bad("slack.channel_prefix: %q must be 1 to 20 lowercase letters, digits, - or _", s.ChannelPrefix)
	}
	if s.ArchiveAfter != nil && *s.ArchiveAfter < 0 {
		bad("slack.archive_after: %v is negative (0 means never)", *s.ArchiveAfter)
	}
	actions := PermissionActions()
	for _, a := range configKeys(s.Permissions) {
		if !slices.Contains(actions, a) {
			bad("slack.permissions: unknown action %q (valid: %s)", a, strings.Join(actions, ", "))
		}
	}
}
