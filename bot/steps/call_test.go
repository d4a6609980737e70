package steps_test

import (
	"encoding/json"
	"testing"

	"github.com/warroom/warroom/bot/steps"
	ijira "github.com/warroom/warroom/integrations/jira"
)

// A call's JSON is stable: system, method, and the arguments by the API's
// names, in their declared order (a map's keys sorted); the method is the
// one of the arguments' type.
func TestCallJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args steps.Args
		want string
	}{
		{steps.SlackCreateChannel{Name: "inc-20261126-payments-1"},
			`{"system":"slack","method":"conversations.create","args":{"name":"inc-20261126-payments-1","is_private":false}}`},
		{steps.SlackPost{Channel: "C1", Text: "hi", Metadata: steps.Metadata(steps.MetaChange, "INC-1:6")},
			`{"system":"slack","method":"chat.postMessage","args":{"channel":"C1","text":"hi","metadata":{"event_type":"warroom_change","event_payload":{"key":"INC-1:6"}}}}`},
		{steps.JiraCreateIssue{Issue: ijira.NewIssue{Project: "OPS", IssueType: "Incident", Summary: "s", Labels: []string{"warroom-inc-1"},
			Fields: map[string]any{"customfield_10001": "payments"}}},
			`{"system":"jira","method":"POST /rest/api/2/issue","args":{"fields":{"customfield_10001":"payments","description":"",` +
				`"issuetype":{"name":"Incident"},"labels":["warroom-inc-1"],"project":{"key":"OPS"},"summary":"s"}}}`},
		{steps.JiraTransition{Key: "OPS-1", Transition: steps.JiraRef{ID: "21"}, Fields: &steps.JiraResolution{Resolution: steps.JiraRef{Name: "Done"}}},
			`{"system":"jira","method":"POST /rest/api/2/issue/{key}/transitions","args":{"key":"OPS-1","transition":{"id":"21"},"fields":{"resolution":{"name":"Done"}}}}`},
		{steps.AlertmanagerExpireSilence{ID: "3f1c"},
			`{"system":"alertmanager","method":"DELETE /api/v2/silence/{id}","args":{"id":"3f1c"}}`},
	} {
		got, err := json.Marshal(steps.NewCall(tc.args))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%T:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
}
