package incident

import "time"

// The postmortem's steps: when a war room resolves, the draft of its
// postmortem (bot/render/postmortem) goes into the war room as a file and
// onto the ticket as an attachment. Each is keyed by the resolve event, so
// that an incident that reopens and resolves again gets a new draft.
const (
	JobSlackPostmortem JobKind = "slack.postmortem"
	JobJiraPostmortem  JobKind = "jira.postmortem"
)

// PostmortemKinds are the steps that post the postmortem's draft.
func PostmortemKinds() []JobKind { return []JobKind{JobSlackPostmortem, JobJiraPostmortem} }

// postmortemJobs are the steps a war room's resolve event resolvedBy
// enqueues to post its postmortem.
func postmortemJobs(id string, resolvedBy int64, now time.Time) []Job {
	return []Job{
		NewJob(JobSlackPostmortem, id, JobArgs{EventID: resolvedBy}, now),
		NewJob(JobJiraPostmortem, id, JobArgs{EventID: resolvedBy}, now),
	}
}
