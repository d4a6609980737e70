package config

import (
	"strings"
)

// Jira configures the Jira side.
type Jira struct {
	URL string `yaml:"url" json:"url"`
	// Deployment is cloud (default) or datacenter.
	Deployment string   `yaml:"deployment" json:"deployment"`
	Auth       JiraAuth `yaml:"auth" json:"auth"`
	Project    string   `yaml:"project" json:"project"`
	IssueType  string   `yaml:"issue_type" json:"issue_type"`
	// Priorities maps a severity to a Jira priority name.
	Priorities        map[string]string `yaml:"priorities" json:"priorities"`
	ResolveTransition string            `yaml:"resolve_transition" json:"resolve_transition"`
	ReopenTransition  string            `yaml:"reopen_transition" json:"reopen_transition"`
	// Labels are added to every ticket; Jira labels cannot contain spaces.
	Labels []string `yaml:"labels" json:"labels"`
	// Fields are extra fields of every ticket, as the REST API takes them.
	Fields map[string]any `yaml:"fields" json:"fields"`
	// Components are set on every ticket, by name.
	Components []string `yaml:"components" json:"components"`
	// FollowupIssueType is the issue type of the follow-ups responders ask
	// for (/warroom followup), filed in the project of the incident's
	// ticket and linked to it; default Task.
	FollowupIssueType string `yaml:"followup_issue_type" json:"followup_issue_type"`
	// IndexLag is how long a create whose outcome is unknown waits before
	// searching for the ticket again; default 30s (Jira Cloud's index lag).
	IndexLag Duration `yaml:"index_lag" json:"index_lag"`
	// DryRun logs the calls instead of making them. It is forced on when
	// no url is configured, and by the top-level dry_run.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
}

// JiraAuth is basic auth with an API token (Cloud) or a personal access
// token (Data Center).
type JiraAuth struct {
	Email                   string `yaml:"email" json:"email"`
	APIToken                Secret `yaml:"api_token" json:"api_token"`
	APITokenFile            string `yaml:"api_token_file" json:"api_token_file"`
	PersonalAccessToken     Secret `yaml:"personal_access_token" json:"personal_access_token"`
	PersonalAccessTokenFile string `yaml:"personal_access_token_file" json:"personal_access_token_file"`
}

func (j *Jira) validate(bad func(string, ...any)) {
	checkURL(bad, "jira.url", j.URL)
	if j.URL != "" {
		// Without them every ticket is refused: the war room would open
		// with a step failing for good.
		if strings.TrimSpace(j.Project) == "" {
			bad("jira.project: required when jira.url is set (the project key, e.g. OPS)")
		}
		if strings.TrimSpace(j.IssueType) == "" {
			bad("jira.issue_type: required when jira.url is set (e.g. Incident)")
		}
	}
	switch j.Deployment {
	case "cloud", "datacenter":
	default:
		bad("jira.deployment: %q is not cloud or datacenter", j.Deployment)
	}
	a := j.Auth
	apiToken := a.APIToken != "" || a.APITokenFile != ""
	pat := a.PersonalAccessToken != "" || a.PersonalAccessTokenFile != ""
	switch {
	case apiToken && pat:
		bad("jira.auth: api_token and personal_access_token are both set; use one")
	case j.Deployment == "cloud" && pat:
		bad("jira.auth.personal_access_token: Jira Cloud takes email and api_token")
	case j.Deployment == "cloud" && apiToken && a.Email == "":
		bad("jira.auth.email: required with api_token on Jira Cloud")
	}
	if j.FollowupIssueType != "" && strings.TrimSpace(j.FollowupIssueType) == "" {
		bad("jira.followup_issue_type: blank (leave it out for Task)")
	}
	for _, l := range j.Labels {
		if l == "" || strings.ContainsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
			bad("jira.labels: %q: Jira labels cannot be empty or contain spaces", l)
		}
	}
}
