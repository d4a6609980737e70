package jiratest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/integrations/jira/jiratest"
)

// multipartBody is a form with one part per field → (filename, content).
func multipartBody(t *testing.T, parts ...[3]string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		fw, err := w.CreateFormFile(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(fw, p[2])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), &b
}

// attach posts a form to the issue's attachments as Cloud's bot.
func attach(t *testing.T, s *jiratest.Server, key, contentType string, body io.Reader, xsrf string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/rest/api/2/issue/"+key+"/attachments", body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(jiratest.DefaultEmail, jiratest.DefaultAPIToken)
	req.Header.Set("Content-Type", contentType)
	if xsrf != "" {
		req.Header.Set("X-Atlassian-Token", xsrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// An attachment needs the XSRF header as Jira documents it, a known
// issue and a part named "file"; it shows in the issue's attachment
// field, which go-jira reads.
func TestAttachments(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	is := create(t, c, incident("pool exhausted"))

	ct, body := multipartBody(t, [3]string{"file", "INC-1-postmortem-9.md", "# Postmortem\n"})
	if code, b := attach(t, s, is.Key, ct, bytes.NewReader(body.Bytes()), ""); code != http.StatusForbidden || !strings.Contains(string(b), "XSRF check failed") {
		t.Errorf("without X-Atlassian-Token: HTTP %d %s, want 403 XSRF check failed", code, b)
	}
	// go-jira's own multipart request sends "nocheck": not what Jira documents.
	if code, _ := attach(t, s, is.Key, ct, bytes.NewReader(body.Bytes()), "nocheck"); code != http.StatusForbidden {
		t.Errorf("X-Atlassian-Token: nocheck: HTTP %d, want 403", code)
	}
	if code, _ := attach(t, s, "OPS-999", ct, bytes.NewReader(body.Bytes()), "no-check"); code != http.StatusNotFound {
		t.Errorf("an unknown issue: HTTP %d, want 404", code)
	}
	other, otherBody := multipartBody(t, [3]string{"attachment", "x.md", "x"})
	if code, _ := attach(t, s, is.Key, other, otherBody, "no-check"); code != http.StatusBadRequest {
		t.Errorf("no part named file: HTTP %d, want 400", code)
	}
	if code, _ := attach(t, s, is.Key, "application/json", strings.NewReader(`{}`), "no-check"); code != http.StatusUnsupportedMediaType {
		t.Errorf("a JSON body: HTTP %d, want 415", code)
	}
	if got, _ := s.Issue(is.Key); len(got.Attachments) != 0 {
		t.Fatalf("a refused request attached %+v", got.Attachments)
	}

	code, b := attach(t, s, is.Key, ct, body, "no-check")
	if code != http.StatusOK {
		t.Fatalf("attach: HTTP %d %s", code, b)
	}
	var made []struct {
		ID, Filename string
		Size         int
	}
	if err := json.Unmarshal(b, &made); err != nil || len(made) != 1 || made[0].Filename != "INC-1-postmortem-9.md" || made[0].Size != 13 {
		t.Fatalf("answer %s (%v)", b, err)
	}
	got, _ := s.Issue(is.Key)
	if len(got.Attachments) != 1 || string(got.Attachments[0].Content) != "# Postmortem\n" || got.Attachments[0].ID != made[0].ID {
		t.Errorf("attachments %+v", got.Attachments)
	}
	full, _, err := c.Issue.Get(is.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Fields.Attachments) != 1 || full.Fields.Attachments[0].Filename != "INC-1-postmortem-9.md" || full.Fields.Attachments[0].Size != 13 {
		t.Errorf("the issue's attachment field: %+v", full.Fields.Attachments)
	}
	// The body limit is the fake's 413.
	ct, big := multipartBody(t, [3]string{"file", "big.md", strings.Repeat("a", 1<<20)})
	if code, _ := attach(t, s, is.Key, ct, big, "no-check"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("over 1 MiB: HTTP %d, want 413", code)
	}
}
