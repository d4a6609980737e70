package incident

import (
	"testing"
	"time"
)

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0.03107142857142857: "3.11%", 0.008: "0.8%", 0.0018253968: "0.18%", 0: "0%", 1: "100%"} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]string{"INC-7": "INC-7", "inc-7": "INC-7", "7": "INC-7", " INC-12 ": "INC-12"} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "INC-", "INC-0", "INC--1", "X-7", "INC-7a"} {
		if _, err := ParseID(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseID(%q): %v, want an invalid error", bad, err)
		}
	}
}

func TestParseState(t *testing.T) {
	if s, err := ParseState(" Resolved "); err != nil || s != Resolved {
		t.Errorf("ParseState: %v %v", s, err)
	}
	if _, err := ParseState("exploded"); err == nil {
		t.Error("unknown state accepted")
	}
}

func TestJobKeys(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	if j := NewJob(JobSlackCreateChannel, "INC-1", JobArgs{}, now); j.Key != "slack.create_channel:INC-1" || j.Coalesce || !j.RunAt.Equal(now) {
		t.Errorf("step key %+v", j)
	}
	if j := NewJob(JobJiraComment, "INC-1", JobArgs{EventID: 9}, now); j.Key != "jira.comment:INC-1:9" {
		t.Errorf("event step key %q", j.Key)
	}
	j := NewJob(JobSlackUpdate, "INC-1", JobArgs{EventID: 9}, now)
	if j.Key != "slack.update:INC-1" || !j.Coalesce || !j.RunAt.Equal(now.Add(CoalesceDelay)) {
		t.Errorf("coalesced key %+v", j)
	}
	next := Successors(NewJob(JobSlackCreateChannel, "INC-1", JobArgs{}, now), now)
	if len(next) != 4 || next[0].Kind != JobSlackSetTopic {
		t.Errorf("successors of create_channel: %+v", next)
	}
}

func TestBackoff(t *testing.T) {
	if Backoff(1) != time.Second || Backoff(3) != 81*time.Second || Backoff(100) != time.Hour {
		t.Errorf("backoff: %s %s %s", Backoff(1), Backoff(3), Backoff(100))
	}
}
