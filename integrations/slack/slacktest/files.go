package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// Files are uploaded in three calls, as Slack documents them
// (https://docs.slack.dev/reference/methods/files.getUploadURLExternal and
// files.completeUploadExternal; files.upload is retired):
//
//  1. files.getUploadURLExternal with the file's filename and length (in
//     bytes) answers an upload_url and a file_id;
//  2. a POST of the file's bytes to upload_url, raw or as a multipart
//     form, answered 200 when it took them ("a non-200 response indicates
//     a failure");
//  3. files.completeUploadExternal with files=[{"id","title"}] (a JSON
//     array) and channel_id shares the file in the channel, as a message
//     of the bot's with the file; without a channel the file stays
//     private. "This method can only be called once."
//
// The fake holds each file and what it was told. Where Slack's documents
// are silent it chooses the strict answer and says so: an upload whose
// byte count is not the declared length is refused (400), and so is an
// upload to a file already completed; completing a file that was never
// uploaded, or completing one a second time, is file_not_found (the
// documented "Could not find the file from the upload ticket").

// Upload is the name Calls, CallCount and FailNext give the POST of a
// file's bytes to the URL files.getUploadURLExternal answered; its Params
// hold the file ID ("file") and the bytes received ("length").
const Upload = "upload"

// Limits of file uploads.
const (
	// alt_txt_too_large: "Description for the image is longer than the
	// limit of 1000 character".
	maxFileAltText = 1000
	// The fake takes uploads of at most 10 MiB (Slack's own limit is 1 GB).
	maxUpload = 10 << 20
	// "A maximum of 100 channels is allowed per request"
	// (channels_limit_exceeded).
	maxShareChannels = 100
)

// File is a copy of a file as the fake stores it.
type File struct {
	ID    string
	Name  string // the filename given to files.getUploadURLExternal
	Title string // the title given to files.completeUploadExternal, else the name
	// Length is the length declared to files.getUploadURLExternal.
	Length int
	// Content is what was uploaded, nil until then.
	Content []byte
	// Completed says files.completeUploadExternal finished the upload.
	Completed bool
	// Channels are where it was shared, in order.
	Channels []string
}

type file struct {
	File
	uploaded bool
	created  int64
}

func (f *file) copy() File {
	out := f.File
	out.Content = slices.Clone(f.Content)
	out.Channels = slices.Clone(f.Channels)
	return out
}

// Files returns every file, in the order their uploads began.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, f.copy())
	}
	return out
}

func (s *Server) fileByID(id string) *file {
	for _, f := range s.files {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// fileJSON is a file as messages and files.completeUploadExternal show it.
func (f *file) toJSON() result {
	ext := strings.TrimPrefix(path.Ext(f.Name), ".")
	return result{"id": f.ID, "created": f.created, "timestamp": f.created, "name": f.Name, "title": f.Title,
		"mimetype": mime.TypeByExtension(path.Ext(f.Name)), "filetype": ext, "user": BotUserID, "size": len(f.Content),
		"mode": "hosted", "is_external": false, "is_public": len(f.Channels) > 0, "channels": slices.Clone(f.Channels)}
}

// filesGetUploadURLExternal answers an upload URL and a file ID. filename
// and length are required; a length of 0 is missing_argument ("Typically
// only occurs when the length provided is 0").
func (s *Server) filesGetUploadURLExternal(p url.Values) result {
	name, rawLength := p.Get("filename"), p.Get("length")
	length, err := strconv.Atoi(rawLength)
	switch {
	case name == "" || rawLength == "" || err != nil || length < 0:
		return fail("invalid_arguments")
	case length == 0:
		return fail("missing_argument")
	case utf8.RuneCountInString(p.Get("alt_txt")) > maxFileAltText:
		return fail("alt_txt_too_large")
	case length > maxUpload:
		return fail("file_upload_size_restricted")
	}
	s.lastID++
	f := &file{File: File{ID: fmt.Sprintf("F%08d", s.lastID), Name: name, Length: length}, created: time.Now().Unix()}
	s.files = append(s.files, f)
	return ok(result{"upload_url": s.http.URL + "/upload/v1/" + f.ID, "file_id": f.ID})
}

// serveUpload takes the bytes of a file at the URL
// files.getUploadURLExternal answered, raw or as the first file of a
// multipart form. It answers 200 "OK - <length>" when it took them, and
// 404 for an unknown file or one already completed, 400 when the bytes
// are not the declared length, 413 past maxUpload.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/v1/")
	call := Call{Method: Upload, Params: url.Values{"file": {id}}, Time: time.Now()}
	answer := func(status int, text string) {
		call.Status = status
		if status != http.StatusOK {
			call.Error = text
		}
		s.record(call)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}
	body, readErr := readUpload(r)
	call.Params.Set("length", strconv.Itoa(len(body)))
	take := func() (int, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		f := s.fileByID(id)
		switch {
		case readErr != "":
			return http.StatusBadRequest, readErr
		case r.Method != http.MethodPost:
			return http.StatusMethodNotAllowed, "method not allowed"
		case f == nil || f.Completed:
			return http.StatusNotFound, "file not found"
		case len(body) > maxUpload:
			return http.StatusRequestEntityTooLarge, "too large"
		case len(body) != f.Length:
			return http.StatusBadRequest, fmt.Sprintf("length mismatch: %d bytes uploaded, %d declared", len(body), f.Length)
		}
		f.Content, f.uploaded = body, true
		return http.StatusOK, fmt.Sprintf("OK - %d", len(body))
	}
	if f, found := s.takeFault(Upload); found {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Lost {
			_, _ = take()
			if f.Hang {
				<-r.Context().Done()
				s.record(call)
				return
			}
			answer(cmpStatus(f.Status), "slacktest: injected failure")
			return
		}
		switch {
		case f.Status != 0 && f.Status != http.StatusOK:
			answer(f.Status, "slacktest: injected failure")
			return
		case f.Error != "":
			answer(http.StatusBadRequest, f.Error)
			return
		}
	}
	answer(take())
}

func cmpStatus(status int) int {
	if status == 0 || status == http.StatusOK {
		return http.StatusInternalServerError
	}
	return status
}

// readUpload reads an upload's bytes: the first file part of a multipart
// form, or the raw body.
func readUpload(r *http.Request) ([]byte, string) {
	body := io.LimitReader(r.Body, maxUpload+1)
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, "unreadable body"
		}
		return b, ""
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, "no file in the multipart form"
		}
		if part.FileName() == "" {
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, "unreadable multipart form"
		}
		return b, ""
	}
}

// filesCompleteUploadExternal finishes uploads and shares the files in
// channel_id (and the channels listed in channels), as one message of the
// bot's carrying the files and initial_comment, in the thread of
// thread_ts if given. The channel errors are chat.postMessage's:
// channel_not_found, is_archived, not_in_channel (the bot must be a
// member).
func (s *Server) filesCompleteUploadExternal(p url.Values) result {
	var refs []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &refs); err != nil || len(refs) == 0 {
		return fail("invalid_arguments")
	}
	var files []*file
	for _, ref := range refs {
		f := s.fileByID(ref.ID)
		if f == nil || !f.uploaded || f.Completed {
			return fail("file_not_found")
		}
		files = append(files, f)
	}
	var targets []*channel
	ids := []string{}
	if id := p.Get("channel_id"); id != "" {
		ids = append(ids, id)
	}
	for _, id := range strings.Split(p.Get("channels"), ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxShareChannels {
		return fail("channels_limit_exceeded")
	}
	for _, id := range ids {
		c, refused := writable(s.channelByID(id, false))
		if refused != "" {
			return fail(refused)
		}
		targets = append(targets, c)
	}
	out := make([]result, 0, len(files))
	for i, f := range files {
		f.Completed = true
		f.Title = refs[i].Title
		if f.Title == "" {
			f.Title = f.Name
		}
	}
	for _, c := range targets {
		m := &message{Message: Message{TS: s.newTS(), User: BotUserID, Text: p.Get("initial_comment"), ThreadTS: p.Get("thread_ts")}}
		for _, f := range files {
			m.files = append(m.files, f)
			f.Channels = append(f.Channels, c.ID)
		}
		c.messages = append(c.messages, m)
	}
	for _, f := range files {
		out = append(out, result{"id": f.ID, "title": f.Title})
	}
	return ok(result{"files": out})
}
