// Package jira is warroom's typed client for Jira's REST API v2, Cloud and
// Data Center, on github.com/andygrunwald/go-jira v1: the calls a war
// room's ticket needs, with Jira's error body surfaced ("customfield_10010:
// Field does not exist") and sorted into what a job should do next (retry,
// wait for Retry-After, or give up). It holds no domain logic and imports
// no package of warroom.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jira "github.com/andygrunwald/go-jira"
)

// Deployments.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Options configure a Client.
type Options struct {
	URL string
	// Deployment is Cloud, DataCenter, or "" to ask serverInfo.
	Deployment string
	// Cloud: basic auth with the account's email and an API token.
	Email, APIToken string
	// Data Center: a personal access token, sent as a bearer token.
	PAT string
	// Timeout bounds one call; default 15s.
	Timeout time.Duration
	// Transport carries the calls under the authentication; nil is
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Client calls one Jira site.
type Client struct {
	api        *jira.Client
	deployment string

	mu       sync.Mutex
	detected string
}

// New returns a client. Cloud authenticates with email and API token,
// Data Center with a personal access token.
func New(o Options) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	var hc *http.Client
	switch {
	case o.PAT != "":
		hc = (&jira.PATAuthTransport{Token: o.PAT, Transport: o.Transport}).Client()
	case o.Email != "" && o.APIToken != "":
		hc = (&jira.BasicAuthTransport{Username: o.Email, Password: o.APIToken, Transport: o.Transport}).Client()
	default:
		return nil, errors.New("jira: no credentials (auth.email and auth.api_token for Cloud, auth.personal_access_token for Data Center)")
	}
	hc.Timeout = o.Timeout
	switch o.Deployment {
	case "", Cloud, DataCenter:
	default:
		return nil, fmt.Errorf("jira: unknown deployment %q (want cloud or datacenter)", o.Deployment)
	}
	api, err := jira.NewClient(hc, o.URL)
	if err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	return &Client{api: api, deployment: o.Deployment}, nil
}

// call makes one request; out, if not nil, receives the JSON answer.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := c.api.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("jira %s %s: %w", method, path, err)
	}
	resp, err := c.api.Do(req, out)
	if err != nil {
		return apiError(method, path, resp, err)
	}
	if out == nil && resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}
	return nil
}

// Deployment returns Cloud or DataCenter: the configured one, else what
// serverInfo says (asked once).
func (c *Client) Deployment(ctx context.Context) (string, error) {
	if c.deployment != "" {
		return c.deployment, nil
	}
	c.mu.Lock()
	d := c.detected
	c.mu.Unlock()
	if d != "" {
		return d, nil
	}
	var info struct {
		DeploymentType string `json:"deploymentType"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/serverInfo", nil, &info); err != nil {
		return "", err
	}
	d = DataCenter
	if strings.EqualFold(info.DeploymentType, "Cloud") {
		d = Cloud
	}
	c.mu.Lock()
	c.detected = d
	c.mu.Unlock()
	return d, nil
}

// Ref is an issue found by a search.
type Ref struct {
	Key    string
	Status string
}

// FindByLabel returns the project's issues that carry label, oldest
// first: Cloud searches with /search/jql, Data Center with /search.
func (c *Client) FindByLabel(ctx context.Context, project, label string) ([]Ref, error) {
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, err
	}
	jql := fmt.Sprintf("project = %s AND labels = %s ORDER BY created ASC", jqlString(project), jqlString(label))
	var issues []jira.Issue
	var resp *jira.Response
	if d == Cloud {
		issues, resp, err = c.api.Issue.SearchV2JQLWithContext(ctx, jql, &jira.SearchOptionsV2{MaxResults: 50, Fields: []string{"status"}})
	} else {
		issues, resp, err = c.api.Issue.SearchWithContext(ctx, jql, &jira.SearchOptions{MaxResults: 50, Fields: []string{"status"}})
	}
	if err != nil {
		return nil, searchError(resp, err)
	}
	refs := make([]Ref, 0, len(issues))
	for _, is := range issues {
		r := Ref{Key: is.Key}
		if is.Fields != nil && is.Fields.Status != nil {
			r.Status = is.Fields.Status.Name
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// jqlString quotes s as a JQL string.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// NewIssue is a ticket to file.
type NewIssue struct {
	Project, IssueType, Priority, Summary, Description string
	Labels, Components                                 []string
	// Fields are more fields as the REST API takes them (custom fields).
	Fields map[string]any
}

// Body is the JSON body of POST rest/api/2/issue that files n:
// {"fields": {...}}. More Fields do not replace the ones n names.
func (n NewIssue) Body() map[string]any {
	fields := map[string]any{
		"project":     map[string]string{"key": n.Project},
		"issuetype":   map[string]string{"name": n.IssueType},
		"summary":     n.Summary,
		"description": n.Description,
		"labels":      n.Labels,
	}
	if n.Priority != "" {
		fields["priority"] = map[string]string{"name": n.Priority}
	}
	if len(n.Components) > 0 {
		cs := make([]map[string]string, len(n.Components))
		for i, name := range n.Components {
			cs[i] = map[string]string{"name": name}
		}
		fields["components"] = cs
	}
	for k, v := range n.Fields {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	return map[string]any{"fields": fields}
}

// Create files an issue and returns its key.
func (c *Client) Create(ctx context.Context, n NewIssue) (string, error) {
	var out struct {
		Key string `json:"key"`
	}
	if err := c.call(ctx, http.MethodPost, "rest/api/2/issue", n.Body(), &out); err != nil {
		return "", err
	}
	if out.Key == "" {
		return "", errors.New("jira POST rest/api/2/issue: created, but no key in the answer")
	}
	return out.Key, nil
}

// SetDescription replaces an issue's description.
func (c *Client) SetDescription(ctx context.Context, key, description string) error {
	return c.call(ctx, http.MethodPut, "rest/api/2/issue/"+url.PathEscape(key),
		map[string]any{"fields": map[string]any{"description": description}}, nil)
}

// SetPriority sets an issue's priority, by name.
func (c *Client) SetPriority(ctx context.Context, key, priority string) error {
	return c.call(ctx, http.MethodPut, "rest/api/2/issue/"+url.PathEscape(key),
		map[string]any{"fields": map[string]any{"priority": map[string]string{"name": priority}}}, nil)
}

// Priority returns the name of an issue's priority ("" for none).
func (c *Client) Priority(ctx context.Context, key string) (string, error) {
	var out struct {
		Fields struct {
			Priority *struct {
				Name string `json:"name"`
			} `json:"priority"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/issue/"+url.PathEscape(key)+"?fields=priority", nil, &out); err != nil {
		return "", err
	}
	if out.Fields.Priority == nil {
		return "", nil
	}
	return out.Fields.Priority.Name, nil
}

// Comment is a comment on an issue.
type Comment struct {
	ID, Body string
}

// maxCommentPages bounds how many pages of comments are read (100 each).
const maxCommentPages = 20

// Comments lists an issue's comments, oldest first.
func (c *Client) Comments(ctx context.Context, key string) ([]Comment, error) {
	var all []Comment
	for start := 0; len(all)/100 < maxCommentPages; {
		var page struct {
			StartAt  int `json:"startAt"`
			Total    int `json:"total"`
			Comments []struct {
				ID   string `json:"id"`
				Body string `json:"body"`
			} `json:"comments"`
		}
		path := fmt.Sprintf("rest/api/2/issue/%s/comment?startAt=%d&maxResults=100", url.PathEscape(key), start)
		if err := c.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, cm := range page.Comments {
			all = append(all, Comment{ID: cm.ID, Body: cm.Body})
		}
		start += len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			break
		}
	}
	return all, nil
}

// AddComment adds a comment.
func (c *Client) AddComment(ctx context.Context, key, body string) error {
	return c.call(ctx, http.MethodPost, "rest/api/2/issue/"+url.PathEscape(key)+"/comment", map[string]string{"body": body}, nil)
}

// Status returns an issue's status name.
func (c *Client) Status(ctx context.Context, key string) (string, error) {
	var out struct {
		Fields struct {
			Status struct {
				Name string `json:"name"`
			} `json:"status"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/issue/"+url.PathEscape(key)+"?fields=status", nil, &out); err != nil {
		return "", err
	}
	return out.Fields.Status.Name, nil
}

// Transition is a workflow step available from an issue's status.
type Transition struct {
	ID, Name, To string
	// Resolution reports that the transition's screen has the resolution field.
	Resolution bool
}

// Transitions lists the transitions available from the issue's status.
func (c *Client) Transitions(ctx context.Context, key string) ([]Transition, error) {
	var out struct {
		Transitions []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			To   struct {
				Name string `json:"name"`
			} `json:"to"`
			Fields map[string]json.RawMessage `json:"fields"`
		} `json:"transitions"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/issue/"+url.PathEscape(key)+"/transitions?expand=transitions.fields", nil, &out); err != nil {
		return nil, err
	}
	ts := make([]Transition, len(out.Transitions))
	for i, t := range out.Transitions {
		_, res := t.Fields["resolution"]
		ts[i] = Transition{ID: t.ID, Name: t.Name, To: t.To.Name, Resolution: res}
	}
	return ts, nil
}

// DoTransition moves an issue along a transition, setting the resolution
// when one is given.
func (c *Client) DoTransition(ctx context.Context, key, id, resolution string) error {
	body := map[string]any{"transition": map[string]string{"id": id}}
	if resolution != "" {
		body["fields"] = map[string]any{"resolution": map[string]string{"name": resolution}}
	}
	return c.call(ctx, http.MethodPost, "rest/api/2/issue/"+url.PathEscape(key)+"/transitions", body, nil)
}

// Link links two issues: inward relates to outward, for "Relates".
func (c *Client) Link(ctx context.Context, linkType, inward, outward string) error {
	return c.call(ctx, http.MethodPost, "rest/api/2/issueLink", map[string]any{
		"type":         map[string]string{"name": linkType},
		"inwardIssue":  map[string]string{"key": inward},
		"outwardIssue": map[string]string{"key": outward},
	}, nil)
}

// Links returns the keys of the issues linked to key.
func (c *Client) Links(ctx context.Context, key string) ([]string, error) {
	var out struct {
		Fields struct {
			IssueLinks []struct {
				Inward  *struct{ Key string } `json:"inwardIssue"`
				Outward *struct{ Key string } `json:"outwardIssue"`
			} `json:"issuelinks"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/issue/"+url.PathEscape(key)+"?fields=issuelinks", nil, &out); err != nil {
		return nil, err
	}
	var keys []string
	for _, l := range out.Fields.IssueLinks {
		if l.Inward != nil {
			keys = append(keys, l.Inward.Key)
		}
		if l.Outward != nil {
			keys = append(keys, l.Outward.Key)
		}
	}
	return keys, nil
}

// CreateFields returns the fields on the create screen of a project's
// issue type (fieldId → name), for checking a config's fields once
// instead of at every alert.
func (c *Client) CreateFields(ctx context.Context, project, issueType string) (map[string]string, error) {
	var types struct {
		Values []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"values"`
		IssueTypes []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"issueTypes"`
	}
	base := "rest/api/2/issue/createmeta/" + url.PathEscape(project) + "/issuetypes"
	if err := c.call(ctx, http.MethodGet, base, nil, &types); err != nil {
		return nil, err
	}
	id := ""
	for _, t := range append(types.Values, types.IssueTypes...) {
		if strings.EqualFold(t.Name, issueType) {
			id = t.ID
		}
	}
	if id == "" {
		return nil, fmt.Errorf("jira: project %s has no issue type %q", project, issueType)
	}
	var fields struct {
		Values []struct {
			FieldID string `json:"fieldId"`
			Name    string `json:"name"`
		} `json:"values"`
		Fields []struct {
			FieldID string `json:"fieldId"`
			Name    string `json:"name"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, base+"/"+url.PathEscape(id), nil, &fields); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range append(fields.Values, fields.Fields...) {
		out[f.FieldID] = f.Name
	}
	return out, nil
}

// Myself returns the name of the account the credentials belong to: the
// call that proves them (serverInfo answers anyone).
func (c *Client) Myself(ctx context.Context) (string, error) {
	var out struct {
		DisplayName  string `json:"displayName"`
		EmailAddress string `json:"emailAddress"`
		Name         string `json:"name"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/myself", nil, &out); err != nil {
		return "", err
	}
	for _, s := range []string{out.DisplayName, out.EmailAddress, out.Name} {
		if s != "" {
			return s, nil
		}
	}
	return "(unnamed account)", nil
}

// Priorities lists the site's priority names.
func (c *Client) Priorities(ctx context.Context) ([]string, error) {
	var out []struct {
		Name string `json:"name"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/priority", nil, &out); err != nil {
		return nil, err
	}
	names := make([]string, len(out))
	for i, p := range out {
		names[i] = p.Name
	}
	return names, nil
}
