package jira

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
)

// Attachment is a file attached to an issue.
type Attachment struct {
	ID, Filename string
	Size         int
}

// Attachments lists an issue's attachments.
func (c *Client) Attachments(ctx context.Context, key string) ([]Attachment, error) {
	var out struct {
		Fields struct {
			Attachment []struct {
				ID       string `json:"id"`
				Filename string `json:"filename"`
				Size     int    `json:"size"`
			} `json:"attachment"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "rest/api/2/issue/"+url.PathEscape(key)+"?fields=attachment", nil, &out); err != nil {
		return nil, err
	}
	as := make([]Attachment, len(out.Fields.Attachment))
	for i, a := range out.Fields.Attachment {
		as[i] = Attachment{ID: a.ID, Filename: a.Filename, Size: a.Size}
	}
	return as, nil
}

// Attach adds a file to an issue: POST rest/api/2/issue/{key}/attachments,
// the file as the multipart form's "file", with "X-Atlassian-Token:
// no-check" (Jira blocks a multipart request without it, as XSRF). The
// header is set here as Jira documents it: go-jira's multipart request
// sends "nocheck".
func (c *Client) Attach(ctx context.Context, key, filename string, content []byte) error {
	path := "rest/api/2/issue/" + url.PathEscape(key) + "/attachments"
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", filename)
	if err == nil {
		_, err = part.Write(content)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("jira POST %s: %w", path, err)
	}
	req, err := c.api.NewMultiPartRequestWithContext(ctx, http.MethodPost, path, &body)
	if err != nil {
		return fmt.Errorf("jira POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("X-Atlassian-Token", "no-check")
	var out []struct {
		ID string `json:"id"`
	}
	resp, err := c.api.Do(req, &out)
	if err != nil {
		return apiError(http.MethodPost, path, resp, err)
	}
	return nil
}
