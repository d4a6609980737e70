package incident

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// hexSHA is a Git commit, abbreviated (7) or full (40 for SHA-1, 64 for
// SHA-256).
var hexSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// versionText is what a deploy's version may look like: v1.4.2,
// 2026.11.26-3, chart-1.2.0+build.7.
var versionText = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// IsSHA reports whether s is a Git commit: 7 to 64 hex digits.
func IsSHA(s string) bool { return hexSHA.MatchString(s) }

// SameDeployWindow is how far apart two records of one service, env and
// SHA may finish and still be one deploy: a CI job that retries its report
// sends the deploy again with a later finish time (by default the time it
// reports). A deploy is also the same as one recorded with its
// IdempotencyKey.
const SameDeployWindow = 10 * time.Minute

// maxIdempotencyKey bounds a deploy's idempotency key.
const maxIdempotencyKey = 200

// RecordDeploy validates and stores a finished deploy. It reports false,
// with d set to the recorded deploy, for one recorded already (a CI job
// that reports twice, see SameDeployWindow).
func (s *Service) RecordDeploy(ctx context.Context, d *Deploy) (bool, error) {
	d.Service, d.Env, d.SHA = strings.TrimSpace(d.Service), strings.TrimSpace(d.Env), strings.TrimSpace(d.SHA)
	d.PreviousSHA, d.Version = strings.TrimSpace(d.PreviousSHA), strings.TrimSpace(d.Version)
	d.IdempotencyKey = strings.TrimSpace(d.IdempotencyKey)
	switch {
	case d.Service == "":
		return false, Errorf(EINVALID, "a deploy needs a service")
	case d.SHA == "" && d.Version == "":
		return false, Errorf(EINVALID, "a deploy needs a sha or a version")
	case len(d.Service) > 200 || len(d.SHA) > 200 || len(d.PreviousSHA) > 200 || len(d.Version) > 200 ||
		len(d.Author) > 200 || len(d.Env) > 200 || len(d.URL) > 2000:
		return false, Errorf(EINVALID, "a deploy field is too long (200 characters, 2000 for url)")
	case len(d.IdempotencyKey) > maxIdempotencyKey || strings.ContainsFunc(d.IdempotencyKey, unicode.IsControl):
		return false, Errorf(EINVALID, "id: an idempotency key has at most %d characters and no control characters", maxIdempotencyKey)
	case d.URL != "" && !strings.HasPrefix(d.URL, "https://") && !strings.HasPrefix(d.URL, "http://"):
		return false, Errorf(EINVALID, "url must be http(s)")
	// The revisions end up in rollback commands and diff links: only
	// what a Git SHA or a version looks like is taken.
	case d.SHA != "" && !IsSHA(d.SHA):
		return false, Errorf(EINVALID, "sha %q is not a Git SHA (7-64 hex digits)", d.SHA)
	case d.PreviousSHA != "" && !IsSHA(d.PreviousSHA):
		return false, Errorf(EINVALID, "previous_sha %q is not a Git SHA (7-64 hex digits)", d.PreviousSHA)
	case d.Version != "" && !versionText.MatchString(d.Version):
		return false, Errorf(EINVALID, "version %q is not a version (a letter or digit, then letters, digits, '.', '_', '+', '-')", d.Version)
	}
	now := s.opts.Now()
	if d.FinishedAt.IsZero() {
		d.FinishedAt = now
	}
	if d.FinishedAt.After(now.Add(5 * time.Minute)) {
		return false, Errorf(EINVALID, "finished_at %s is in the future", d.FinishedAt.Format(time.RFC3339))
	}
	if d.SHA == "" {
		d.SHA = d.Version
	}
	if d.Source == "" {
		d.Source = "api"
	}
	var added bool
	err := s.store.Update(ctx, "deploys/"+d.Service, func(tx Tx) error {
		var err error
		added, err = tx.InsertDeploy(d)
		return err
	})
	return added, err
}
