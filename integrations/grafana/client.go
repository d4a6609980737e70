// Package grafana is warroom's typed client for Grafana's HTTP API: it turns
// dashboard UIDs and tags into links that open on an alert's time window,
// with the dashboard variables filled in. It holds no domain logic and
// imports no package of warroom.
//
// The API is asked with a service-account token sent as a bearer token
// (https://grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/authentication/).
// Without a token the API cannot be asked; LinkWithoutLookup still builds
// a link from a UID, which Grafana redirects to the dashboard.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of the API.
const (
	// Search: "limit – Limit the number of returned results (max is 5000;
	// default is 1000)"; above 5000 Grafana answers 422
	// (https://grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/folder_dashboard_search/).
	MaxSearchLimit = 5000
	// A dashboard's JSON model comes with it; large ones run to megabytes.
	maxBody = 32 << 20
	// How much of an error answer is read.
	maxErrorBody = 64 << 10
	// "The uid can have a maximum length of 40 characters"
	// (https://grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/dashboard/).
	maxUID = 40
)

// ErrNoToken is returned by the calls that need the API when the Client
// has no token. LinkWithoutLookup needs none.
var ErrNoToken = errors.New("grafana: no service-account token, the API cannot be asked")

// Client calls one Grafana.
type Client struct {
	base    string   // as configured, without a trailing "/"
	baseURL *url.URL // base parsed; nil when it does not parse
	baseErr error
	token   string
	hc      *http.Client
}

// New returns a client for the Grafana at baseURL (with its sub path, if it
// is served under one: "https://example.com/grafana"). token is a
// service-account token, sent as "Authorization: Bearer"; it may be empty,
// and then only LinkWithoutLookup works. A nil hc is a client with a 10s
// timeout.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
	u, err := url.Parse(c.base)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("grafana: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		c.baseErr = fmt.Errorf("grafana: base URL %q: want http(s)://host[/path]", baseURL)
	default:
		c.baseURL = u
	}
	return c
}

// Dashboard is a board and its link.
type Dashboard struct {
	UID, Title string
	// URL is absolute, with the time window and the var- values applied.
	URL string
}

// Error is Grafana's answer to a failed call.
type Error struct {
	Method, Path string
	Status       int
	// Message is Grafana's "message" ("Dashboard not found"), or the start
	// of a body that is not Grafana's JSON (a proxy's error page).
	Message string
	// MessageID is the "messageId" of Grafana's newer errors
	// ("api-key.invalid"), "" when there is none.
	MessageID string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("grafana %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, msg)
}

// Dashboard looks the UID up (GET /api/dashboards/uid/:uid) and returns
// the board's title and its link, built on the url the API answers
// (meta.url), with from/to in milliseconds since the epoch and
// var-<name>=<value> for each entry of vars. Zero times are left out, so
// that the board opens on its own default range.
func (c *Client) Dashboard(ctx context.Context, uid string, vars map[string]string, from, to time.Time) (Dashboard, error) {
	if err := c.ready(); err != nil {
		return Dashboard{}, err
	}
	if err := checkUID(uid); err != nil {
		return Dashboard{}, err
	}
	path := "/api/dashboards/uid/" + url.PathEscape(uid)
	var out struct {
		Dashboard struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		} `json:"dashboard"`
		Meta struct {
			URL  string `json:"url"`
			Slug string `json:"slug"`
		} `json:"meta"`
	}
	if err := c.get(ctx, path, nil, &out); err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{UID: out.Dashboard.UID, Title: out.Dashboard.Title}
	if d.UID == "" {
		d.UID = uid
	}
	page := out.Meta.URL
	if page == "" {
		page = c.prefix() + "/d/" + url.PathEscape(d.UID)
		if out.Meta.Slug != "" {
			page += "/" + url.PathEscape(out.Meta.Slug)
		}
	}
	link, err := c.link(page, vars, from, to)
	if err != nil {
		return Dashboard{}, fmt.Errorf("grafana: dashboard %s: %w", uid, err)
	}
	d.URL = link
	return d, nil
}

// Search finds the dashboards carrying tag (GET
// /api/search?type=dash-db&tag=…&limit=…), in Grafana's order (by title),
// and returns their links with the window and vars applied as Dashboard
// does. limit ≤ 0 leaves Grafana's default (1000); above MaxSearchLimit it
// is MaxSearchLimit.
func (c *Client) Search(ctx context.Context, tag string, vars map[string]string, from, to time.Time, limit int) ([]Dashboard, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(tag) == "" {
		return nil, errors.New("grafana: search: empty tag")
	}
	q := url.Values{"type": {"dash-db"}, "tag": {tag}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(min(limit, MaxSearchLimit)))
	}
	var hits []struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
	if err := c.get(ctx, "/api/search", q, &hits); err != nil {
		return nil, err
	}
	out := make([]Dashboard, 0, len(hits))
	for _, h := range hits {
		page := h.URL
		if page == "" {
			page = c.prefix() + "/d/" + url.PathEscape(h.UID)
		}
		link, err := c.link(page, vars, from, to)
		if err != nil {
			return nil, fmt.Errorf("grafana: search tag %q: dashboard %s: %w", tag, h.UID, err)
		}
		out = append(out, Dashboard{UID: h.UID, Title: h.Title, URL: link})
	}
	return out, nil
}

// LinkWithoutLookup builds <base>/d/<uid>?from=&to=&var-… for when the API
// cannot be asked (no token). Grafana serves /d/<uid> without the slug.
func (c *Client) LinkWithoutLookup(uid string, vars map[string]string, from, to time.Time) string {
	link := c.base + "/d/" + url.PathEscape(uid)
	if q := query(nil, vars, from, to); q != "" {
		link += "?" + q
	}
	return link
}

func (c *Client) ready() error {
	if c.baseErr != nil {
		return c.baseErr
	}
	if c.token == "" {
		return ErrNoToken
	}
	return nil
}

func checkUID(uid string) error {
	if uid == "" {
		return errors.New("grafana: empty dashboard UID")
	}
	if len(uid) > maxUID {
		return fmt.Errorf("grafana: dashboard UID %q: longer than %d characters", uid, maxUID)
	}
	return nil
}

// prefix is the base URL's path: the sub path Grafana is served under.
func (c *Client) prefix() string {
	if c.baseURL == nil {
		return ""
	}
	return strings.TrimRight(c.baseURL.EscapedPath(), "/")
}

// link makes page (an absolute URL, or a path as the API answers it) an
// absolute URL on the base, with the window and vars in its query.
//
// Grafana answers paths that already carry its sub path when it knows it
// (root_url with serve_from_sub_path: "/grafana/d/uid/slug"); one behind a
// proxy that strips the sub path answers "/d/uid/slug". Both resolve to
// <base>/d/uid/slug.
func (c *Client) link(page string, vars map[string]string, from, to time.Time) (string, error) {
	ref, err := url.Parse(page)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", page, err)
	}
	var u *url.URL
	if ref.IsAbs() {
		u = ref
	} else {
		if p := strings.TrimRight(c.baseURL.Path, "/"); p != "" && strings.HasPrefix(ref.Path, "/") &&
			ref.Path != p && !strings.HasPrefix(ref.Path, p+"/") {
			ref.Path = p + ref.Path
			ref.RawPath = ""
		}
		u = c.baseURL.ResolveReference(ref)
	}
	u.RawQuery = query(u.Query(), vars, from, to)
	u.Fragment = ""
	return u.String(), nil
}

// query encodes q with from, to and var-<name> for each of vars, sorted by
// name. Spaces are %20, not "+": both decode the same in Grafana, and %20
// survives being pasted into Slack and Markdown intact.
func query(q url.Values, vars map[string]string, from, to time.Time) string {
	if q == nil {
		q = url.Values{}
	}
	if !from.IsZero() {
		q.Set("from", strconv.FormatInt(from.UnixMilli(), 10))
	}
	if !to.IsZero() {
		q.Set("to", strconv.FormatInt(to.UnixMilli(), 10))
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		q.Set("var-"+name, vars[name])
	}
	// url.QueryEscape turns a literal "+" into %2B, so every "+" left is a space.
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

// get calls path (below the base) and decodes the JSON answer into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("grafana GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("grafana GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return apiError(http.MethodGet, path, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("grafana GET %s: reading the answer: %w", path, err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("grafana GET %s: answer larger than %d bytes", path, maxBody)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("grafana GET %s: HTTP %d: not the JSON expected (%w): %s", path, resp.StatusCode, err, snippet(body))
	}
	return nil
}

// apiError reads a failed answer. Grafana's JSON errors are
// {"message": "..."} and, for the newer ones, "messageId" and "statusCode"
// too; a proxy in front of it answers HTML or text.
func apiError(method, path string, resp *http.Response) error {
	e := &Error{Method: method, Path: path, Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var ge struct {
		Message   string `json:"message"`
		MessageID string `json:"messageId"`
	}
	if json.Unmarshal(body, &ge) == nil && (ge.Message != "" || ge.MessageID != "") {
		e.Message, e.MessageID = ge.Message, ge.MessageID
	} else {
		e.Message = snippet(body)
	}
	return e
}

// snippet is the start of a body, on one line, for an error message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	const n = 200
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
