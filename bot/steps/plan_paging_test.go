package steps

import (
	"testing"

	"github.com/warroom/warroom/incident"
)

func TestPageSeverity(t *testing.T) {
	t.Parallel()
	for sev, want := range map[incident.Severity]string{
		incident.Critical: "critical", incident.Major: "error", incident.Minor: "warning",
		incident.Warning: "warning", incident.Info: "info", "page-me": "error",
	} {
		if got := pageSeverity(sev); got != want {
			t.Errorf("pageSeverity(%s) = %s, want %s", sev, got, want)
		}
	}
}
