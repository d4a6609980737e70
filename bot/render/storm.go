package render

import (
	"cmp"
	"slices"

	"github.com/warroom/warroom/incident"
)

// StormOrder returns a storm's incidents in the order its room and its
// ticket list them: those still breaching first, then those resolved,
// each in the order they joined.
func StormOrder(incs []*incident.Incident) []*incident.Incident {
	out := slices.Clone(incs)
	slices.SortStableFunc(out, func(a, b *incident.Incident) int {
		return cmp.Or(cmp.Compare(stateRank(a), stateRank(b)), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

func stateRank(inc *incident.Incident) int {
	if inc.State.Open() {
		return 0
	}
	return 1
}

// StormValue is a storm member's value for its line: "error rate 3.11%
// vs 0.8%", "P99 latency 1.8 s vs 500 ms", "value unknown".
func StormValue(inc *incident.Incident) string {
	if h := Headline(inc); h != "" {
		return h[1:]
	}
	return "value unknown"
}

// StormSuspect is a storm member's suspect deploy, shortened as git
// shortens a commit SHA; "" when none is known.
func StormSuspect(inc *incident.Incident) string {
	rev := inc.SuspectDeploy
	if len(rev) >= 12 && isHex(rev) {
		return rev[:7]
	}
	return rev
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// StormCounts counts a storm's incidents, and those still breaching:
// as the store counted them (storm.Children, storm.ChildrenOpen) when it
// did, else those listed.
func StormCounts(storm *incident.Incident, listed []*incident.Incident) (total, open int) {
	if storm.Children != nil {
		return max(len(storm.Children), len(listed)), storm.ChildrenOpen
	}
	for _, c := range listed {
		if c.State.Open() {
			open++
		}
	}
	return len(listed), open
}
