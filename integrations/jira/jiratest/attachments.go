package jiratest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"time"
)

// Attachments follow "Add attachment"
// (https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-attachments/):
// POST /rest/api/2/issue/{issueIdOrKey}/attachments takes
// multipart/form-data whose files are in parts named "file"; "the request
// must have a X-Atlassian-Token: no-check header, if not it is blocked"
// (Jira's XSRF check answers 403 "XSRF check failed"). It answers 200
// with the array of the attachments made; 404 for an issue not found; 413
// past the size limit (here the fake's body limit, 1 MiB). Each
// attachment shows in the issue's "attachment" field. A form with no part
// named "file" is the fake's 400: Jira does not document it.

// attachRoute is the route of the attachments.
const attachRoute = "POST /rest/api/2/issue/{key}/attachments"

// Attachment is a copy of a file attached to an issue.
type Attachment struct {
	ID, Filename, MimeType string
	Content                []byte
	Created                time.Time
}

type attachment struct {
	Attachment
}

// xsrfHeader and xsrfNoCheck are the header a multipart request must
// carry, as Jira documents it.
const (
	xsrfHeader  = "X-Atlassian-Token"
	xsrfNoCheck = "no-check"
)

// addAttachments is POST /rest/api/2/issue/{key}/attachments.
func (s *Server) addAttachments(r *request) reply {
	if r.http.Header.Get(xsrfHeader) != xsrfNoCheck {
		return reply{status: http.StatusForbidden, text: "XSRF check failed"}
	}
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	mediaType, params, _ := mime.ParseMediaType(r.http.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return reply{status: http.StatusUnsupportedMediaType}
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	var made []*attachment
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errorReply(http.StatusBadRequest, "Unable to parse the multipart request: "+err.Error())
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return errorReply(http.StatusBadRequest, "Unable to read the attachment: "+err.Error())
		}
		mt := part.Header.Get("Content-Type")
		if mt == "" || mt == "application/octet-stream" {
			mt = mime.TypeByExtension(path.Ext(part.FileName()))
		}
		made = append(made, &attachment{Attachment{ID: s.nextID(), Filename: part.FileName(), MimeType: mt, Content: content, Created: s.stamp()}})
	}
	if len(made) == 0 {
		return errorReply(http.StatusBadRequest, `No file in the request: attachments go in multipart parts named "file".`)
	}
	is.attachments = append(is.attachments, made...)
	is.updated = s.stamp()
	out := make([]object, 0, len(made))
	for _, a := range made {
		out = append(out, s.attachmentJSON(a))
	}
	return jsonReply(http.StatusOK, out)
}

func (s *Server) attachmentJSON(a *attachment) object {
	return object{
		"self":     s.self("attachment/" + a.ID),
		"id":       a.ID,
		"filename": a.Filename,
		"author":   s.userJSON(),
		"created":  a.Created.Format(jiraTime),
		"size":     len(a.Content),
		"mimeType": a.MimeType,
		"content":  s.http.URL + "/secure/attachment/" + a.ID + "/" + a.Filename,
	}
}

func (a *attachment) copy() Attachment {
	out := a.Attachment
	out.Content = slices.Clone(a.Content)
	return out
}
