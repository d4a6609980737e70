package slacktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// uploadTicket asks for an upload URL through the API.
func uploadTicket(t *testing.T, api *slack.Client, name string, length int) *slack.GetUploadURLExternalResponse {
	t.Helper()
	r, err := api.GetUploadURLExternalContext(context.Background(), slack.GetUploadURLExternalParameters{FileName: name, FileSize: length})
	if err != nil {
		t.Fatalf("files.getUploadURLExternal %s: %v", name, err)
	}
	return r
}

// raw posts body to the upload URL as Slack's examples do, raw bytes.
func raw(t *testing.T, uploadURL string, body []byte) int {
	t.Helper()
	resp, err := http.Post(uploadURL, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The three calls of an upload, as slack-go's UploadFileContext makes
// them: the file is shared in the channel as a message of the bot's,
// which conversations.history shows with the file.
func TestUploadFile(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ch := create(t, api, "inc-1", false)
	ctx := context.Background()
	content := "# Postmortem: INC-1\n"
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Content: content, FileSize: len(content), Filename: "INC-1-postmortem-9.md",
		Title: "Postmortem draft: INC-1", Channel: ch, InitialComment: "The postmortem's draft."})
	if err != nil {
		t.Fatal(err)
	}
	files := s.Files()
	if len(files) != 1 || files[0].ID != f.ID || string(files[0].Content) != content || !files[0].Completed ||
		files[0].Title != "Postmortem draft: INC-1" || files[0].Name != "INC-1-postmortem-9.md" || len(files[0].Channels) != 1 || files[0].Channels[0] != ch {
		t.Fatalf("files %+v", files)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 1 || msgs[0].User != slacktest.BotUserID || msgs[0].Text != "The postmortem's draft." || len(msgs[0].Files) != 1 || msgs[0].Files[0] != f.ID {
		t.Fatalf("messages %+v", msgs)
	}
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 1 || len(h.Messages[0].Files) != 1 || h.Messages[0].Files[0].Name != "INC-1-postmortem-9.md" ||
		h.Messages[0].Files[0].ID != f.ID || !h.Messages[0].Upload {
		t.Fatalf("history %+v", h.Messages)
	}
	for _, m := range []string{"files.getUploadURLExternal", slacktest.Upload, "files.completeUploadExternal"} {
		if n := s.CallCount(m); n != 1 {
			t.Errorf("%s called %d times, want 1", m, n)
		}
	}
}

// What Slack refuses at each of the three calls.
func TestUploadRejections(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-1", false)
	outside := s.AddChannel("not-mine", false, false)
	s.SetMembers(outside, "U0OTHER001")
	archived := s.AddChannel("old", false, true)

	// files.getUploadURLExternal: both arguments, and a length.
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"length": {"5"}}, "invalid_arguments"},
		{url.Values{"filename": {"a.md"}}, "invalid_arguments"},
		{url.Values{"filename": {"a.md"}, "length": {"five"}}, "invalid_arguments"},
		{url.Values{"filename": {"a.md"}, "length": {"0"}}, "missing_argument"},
		{url.Values{"filename": {"a.png"}, "length": {"5"}, "alt_txt": {strings.Repeat("a", 1001)}}, "alt_txt_too_large"},
	} {
		var r slack.SlackResponse
		form := tc.form
		form.Set("token", slacktest.BotToken)
		resp, err := http.PostForm(s.URL()+"files.getUploadURLExternal", form)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != tc.want {
			t.Errorf("getUploadURLExternal %v: %q, want %q", tc.form, r.Error, tc.want)
		}
	}

	// The upload: the declared length, a known file, not completed.
	short := uploadTicket(t, api, "a.md", 5)
	if code := raw(t, short.UploadURL, []byte("abc")); code != http.StatusBadRequest {
		t.Errorf("3 bytes for a declared 5: HTTP %d, want 400", code)
	}
	if code := raw(t, short.UploadURL, []byte("abcdef")); code != http.StatusBadRequest {
		t.Errorf("6 bytes for a declared 5: HTTP %d, want 400", code)
	}
	if code := raw(t, strings.Replace(short.UploadURL, short.FileID, "F99999999", 1), []byte("abcde")); code != http.StatusNotFound {
		t.Errorf("an unknown file: HTTP %d, want 404", code)
	}
	complete := func(id, channel string) string {
		_, err := api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: id}}, Channel: channel})
		return code(err)
	}
	if got := complete(short.FileID, ch); got != "file_not_found" {
		t.Errorf("completing a file never uploaded: %q, want file_not_found", got)
	}
	if code := raw(t, short.UploadURL, []byte("abcde")); code != http.StatusOK {
		t.Fatalf("5 bytes for a declared 5: HTTP %d", code)
	}
	if got := complete("F99999999", ch); got != "file_not_found" {
		t.Errorf("an unknown file ID: %q, want file_not_found", got)
	}
	for channel, want := range map[string]string{"C99999999": "channel_not_found", outside: "not_in_channel", archived: "is_archived"} {
		if got := complete(short.FileID, channel); got != want {
			t.Errorf("completing into %s: %q, want %q", channel, got, want)
		}
	}
	if f := s.Files()[0]; f.Completed || len(f.Channels) != 0 {
		t.Errorf("a refused complete changed the file: %+v", f)
	}
	if got := complete(short.FileID, ch); got != "" {
		t.Fatalf("complete: %q", got)
	}
	// "This method can only be called once", and the upload is spent.
	if got := complete(short.FileID, ch); got != "file_not_found" {
		t.Errorf("completing twice: %q, want file_not_found", got)
	}
	if code := raw(t, short.UploadURL, []byte("abcde")); code != http.StatusNotFound {
		t.Errorf("uploading to a completed file: HTTP %d, want 404", code)
	}
	if n := len(s.Messages(ch)); n != 1 {
		t.Errorf("%d messages in the channel, want the one share", n)
	}
	// Without a channel the file is completed, private.
	private := uploadTicket(t, api, "b.md", 1)
	raw(t, private.UploadURL, []byte("b"))
	if got := complete(private.FileID, ""); got != "" {
		t.Fatalf("complete without a channel: %q", got)
	}
	if f := s.Files()[1]; !f.Completed || len(f.Channels) != 0 {
		t.Errorf("private file %+v", f)
	}
}

// A fault on the upload, as on any method; a lost answer took the bytes.
func TestUploadFaults(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ticket := uploadTicket(t, api, "a.md", 1)
	s.FailNext(slacktest.Upload, slacktest.Fault{Status: http.StatusServiceUnavailable})
	if code := raw(t, ticket.UploadURL, []byte("a")); code != http.StatusServiceUnavailable {
		t.Errorf("HTTP %d, want the injected 503", code)
	}
	if f := s.Files()[0]; f.Content != nil {
		t.Errorf("a refused upload stored %q", f.Content)
	}
	s.FailNext(slacktest.Upload, slacktest.Fault{Lost: true})
	if code := raw(t, ticket.UploadURL, []byte("a")); code != http.StatusInternalServerError {
		t.Errorf("HTTP %d, want the lost answer's 500", code)
	}
	if f := s.Files()[0]; string(f.Content) != "a" {
		t.Errorf("a lost answer's upload stored %q", f.Content)
	}
}
