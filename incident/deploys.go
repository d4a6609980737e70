package incident

import (
	"context"
	"strings"
	"time"
)

// RecordDeploy validates and stores a finished deploy. It reports false
// for one recorded already (a CI job that reports twice).
func (s *Service) RecordDeploy(ctx context.Context, d *Deploy) (bool, error) {
	d.Service, d.Env, d.SHA = strings.TrimSpace(d.Service), strings.TrimSpace(d.Env), strings.TrimSpace(d.SHA)
	switch {
	case d.Service == "":
		return false, Errorf(EINVALID, "a deploy needs a service")
	case d.SHA == "" && d.Version == "":
		return false, Errorf(EINVALID, "a deploy needs a sha or a version")
	case len(d.Service) > 200 || len(d.SHA) > 200 || len(d.PreviousSHA) > 200 || len(d.Version) > 200 ||
		len(d.Author) > 200 || len(d.Env) > 200 || len(d.URL) > 2000:
		return false, Errorf(EINVALID, "a deploy field is too long (200 characters, 2000 for url)")
	case d.URL != "" && !strings.HasPrefix(d.URL, "https://") && !strings.HasPrefix(d.URL, "http://"):
		return false, Errorf(EINVALID, "url must be http(s)")
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
