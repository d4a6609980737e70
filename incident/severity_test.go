package incident_test

import (
	"context"
	"slices"
	"testing"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/storetest"
)

func TestParseSeverityLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]incident.Severity{"critical": incident.Critical, " Major ": incident.Major, "MINOR": incident.Minor} {
		if got, err := incident.ParseSeverityLevel(in); err != nil || got != want {
			t.Errorf("ParseSeverityLevel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"warning":               `unknown severity "warning" (valid: critical, major, minor)`,
		"":                      `unknown severity "" (valid: critical, major, minor)`,
		"sev1sev1sev1sev1sev1x": `unknown severity "sev1sev1sev1sev1sev1…" (valid: critical, major, minor)`,
	} {
		_, err := incident.ParseSeverityLevel(in)
		if incident.ErrorCode(err) != incident.EINVALID || incident.ErrorMessage(err) != want {
			t.Errorf("ParseSeverityLevel(%q): %v, want EINVALID %s", in, err, want)
		}
	}
}

// A change of severity is one event with its actor and, for a war room,
// the steps that show it, in the transaction of the change. The same
// severity again writes nothing; a resolved incident keeps its own.
func TestSetSeverity(t *testing.T) {
	onWarRoom(t, func(t *testing.T, _ storetest.Backend, _ string, s *sqlstore.Store, svc *incident.Service) {
		ctx := context.Background()
		inc, changed, err := svc.SetSeverity(ctx, "INC-1", "U0ALICE01", incident.Major)
		if err != nil || !changed || inc.Severity != incident.Major {
			t.Fatalf("SetSeverity: %v, changed %v, severity %q", err, changed, inc.Severity)
		}
		tl, err := s.Timeline(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		last := tl[len(tl)-1]
		if last.Kind != incident.EventSeverityChanged || last.Actor != "U0ALICE01" || last.Text != "critical → major" {
			t.Errorf("last event %+v", last)
		}
		kinds := func() []incident.JobKind {
			jobs, err := s.Jobs(ctx, "INC-1")
			if err != nil {
				t.Fatal(err)
			}
			var out []incident.JobKind
			for _, j := range jobs {
				out = append(out, j.Kind)
			}
			return out
		}
		before := kinds()
		for _, k := range []incident.JobKind{incident.JobSlackUpdateTopic, incident.JobJiraSetPriority, incident.JobJiraUpdate, incident.JobSlackUpdate} {
			if !slices.Contains(before, k) {
				t.Errorf("no %s step after the change: %v", k, before)
			}
		}

		if _, changed, err := svc.SetSeverity(ctx, "INC-1", "U0BOB0001", incident.Major); err != nil || changed {
			t.Errorf("the same severity again: changed %v, %v", changed, err)
		}
		if tl2, _ := s.Timeline(ctx, "INC-1"); len(tl2) != len(tl) {
			t.Errorf("the same severity again wrote %d events", len(tl2)-len(tl))
		}
		if after := kinds(); !slices.Equal(after, before) {
			t.Errorf("the same severity again queued steps: %v, was %v", after, before)
		}

		if _, _, err := svc.SetSeverity(ctx, "INC-1", "U0ALICE01", incident.Warning); incident.ErrorCode(err) != incident.EINVALID {
			t.Errorf("warning is not a level a responder sets: %v", err)
		}
		if _, err := svc.Resolve(ctx, "INC-1", "U0ALICE01", ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SetSeverity(ctx, "INC-1", "U0ALICE01", incident.Minor); incident.ErrorCode(err) != incident.ECONFLICT {
			t.Errorf("a resolved incident's severity changed: %v", err)
		}
		if _, _, err := svc.SetSeverity(ctx, "INC-404", "U0ALICE01", incident.Minor); incident.ErrorCode(err) != incident.ENOTFOUND {
			t.Errorf("an unknown incident: %v", err)
		}
	})
}
