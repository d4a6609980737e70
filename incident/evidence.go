package incident

import (
	"fmt"
	"strings"
	"time"
)

// Deploy is one finished deploy of a service, as CI, Argo CD or a GitOps
// repository reports it.
type Deploy struct {
	ID          int64     `json:"id,omitempty"`
	Service     string    `json:"service"`
	Env         string    `json:"env,omitempty"`
	SHA         string    `json:"sha"`
	PreviousSHA string    `json:"previous_sha,omitempty"`
	Version     string    `json:"version,omitempty"`
	Author      string    `json:"author,omitempty"`
	URL         string    `json:"url,omitempty"`
	FinishedAt  time.Time `json:"finished_at"`
	// Source says who told us: api, argocd, git.
	Source string `json:"source,omitempty"`
	// IdempotencyKey is the caller's name for the deploy (the "id" a CI
	// job sends): a deploy sent again with it is the same deploy.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// DiffURL links what the deploy changed, when correlation knows the
	// deploy before it (not stored with the deploy).
	DiffURL string `json:"diff_url,omitempty"`
}

// DeployFilter selects deploys.
type DeployFilter struct {
	Service, Env string    // empty: any
	Since, Until time.Time // zero: unbounded
	Limit        int       // 0: the store's default
}

// Evidence is what correlation found about an incident: the deploys
// before it (the suspect marked), the rollback suggestion, the boards,
// the failing traces and the value from Prometheus. A source that failed
// or did not answer in time is named in Problems, never fatal.
type Evidence struct {
	GatheredAt time.Time `json:"gathered_at"`
	// Round counts the gatherings: 1 within the budget, 2 with the sources
	// that answered late, and so on.
	Round int `json:"round"`
	// Pending names the sources still being asked.
	Pending []string `json:"pending,omitempty"`

	Deploys  []Deploy `json:"deploys,omitempty"` // newest first, at most 3
	Suspect  *Deploy  `json:"suspect,omitempty"`
	Target   *Deploy  `json:"target,omitempty"` // the deploy before the suspect: the rollback target
	Rollback string   `json:"rollback,omitempty"`
	// RollbackWithheld says why there is no rollback command although the
	// rule has one: a value it would use is not of its kind
	// ("rollback suggestion withheld: label namespace … is not a
	// Kubernetes name"). Untrusted text: escape it where it is shown.
	RollbackWithheld string `json:"rollback_withheld,omitempty"`
	// NoDeploys says why there is no suspect ("no deploy in the last 2h").
	NoDeploys string `json:"no_deploys,omitempty"`
	// CompareURL links the suspect's diff.
	CompareURL string `json:"compare_url,omitempty"`

	Dashboards []EvidenceLink `json:"dashboards,omitempty"`
	Traces     []Trace        `json:"traces,omitempty"`
	TracesURL  string         `json:"traces_url,omitempty"`

	Query       string   `json:"query,omitempty"`
	ValueAtOpen *float64 `json:"value_at_open,omitempty"`
	ValueNow    *float64 `json:"value_now,omitempty"`

	Problems []string `json:"problems,omitempty"`
}

// EvidenceLink is a titled link found by correlation.
type EvidenceLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Trace is one failing trace.
type Trace struct {
	ID        string        `json:"id"`
	Operation string        `json:"operation"`
	Duration  time.Duration `json:"duration"`
	ErrorSpan string        `json:"error_span,omitempty"`
	Error     string        `json:"error,omitempty"`
	URL       string        `json:"url"`
}

// summary says in one line what the evidence holds, for the timeline.
func (ev *Evidence) summary() string {
	var parts []string
	switch {
	case ev.Suspect != nil:
		parts = append(parts, fmt.Sprintf("suspect deploy %s", short(ev.Suspect.SHA)))
	case ev.NoDeploys != "":
		parts = append(parts, ev.NoDeploys)
	}
	if n := len(ev.Traces); n > 0 {
		parts = append(parts, fmt.Sprintf("%d failing traces", n))
	}
	if n := len(ev.Dashboards); n > 0 {
		parts = append(parts, fmt.Sprintf("%d dashboards", n))
	}
	parts = append(parts, ev.Problems...)
	if len(ev.Pending) > 0 {
		parts = append(parts, "still asking "+strings.Join(ev.Pending, ", "))
	}
	return fmt.Sprintf("evidence (round %d): %s", ev.Round, strings.Join(parts, "; "))
}

// ShortSHA is the 7-character form of a Git SHA (other revisions as they are).
func ShortSHA(sha string) string { return short(sha) }

func short(sha string) string {
	if len(sha) > 7 && strings.Trim(sha, "0123456789abcdef") == "" {
		return sha[:7]
	}
	return sha
}
