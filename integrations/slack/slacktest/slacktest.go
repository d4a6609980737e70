// Package slacktest is a strict, stateful, in-process fake of the Slack Web
// API, for warroom's tests and `warroom demo`. It answers the methods warroom
// calls the way Slack documents them and rejects what Slack rejects (channel
// name rules, taken names, membership, archived channels, Block Kit limits),
// so that code passing against it has met Slack's rules, not just the fake's.
//
// Point a slack-go client at it with
//
//	slack.New(slacktest.BotToken, slack.OptionAPIURL(s.URL()))
//
// Errors are HTTP 200 with {"ok":false,"error":"..."}, as Slack sends them;
// FailNext injects rate limits, server errors and delays.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// The workspace the fake pretends to be, and the bot user whose token it accepts.
const (
	BotToken  = "xoxb-test-token"
	BotUserID = "U0BOT00001"
	BotID     = "B0BOT00001"
	BotName   = "warroom"
	TeamID    = "T0TEAM0001"
	// OtherUserID is the creator of channels seeded with AddChannel: a
	// person, not the bot.
	OtherUserID = "U0OTHER001"
)

// Limits Slack documents; past them the fake answers Slack's error.
const (
	// Channel names are at most 80 characters
	// (https://docs.slack.dev/reference/methods/conversations.create, "Naming").
	maxChannelName = 80
	// Topics and purposes are at most 250 characters (too_long,
	// https://docs.slack.dev/reference/methods/conversations.setTopic and setPurpose).
	maxTopic = 250
	// Message text: "Provide no more than 40,000 characters"; msg_too_long
	// (https://docs.slack.dev/reference/methods/chat.postMessage).
	maxMessageText = 40000
	// conversations.list limit: "an integer no larger than 1000", default 100
	// (https://docs.slack.dev/reference/methods/conversations.list).
	maxListLimit     = 1000
	defaultListLimit = 100
	// conversations.history limit: default 100, "Maximum of 999"
	// (https://docs.slack.dev/reference/methods/conversations.history).
	maxHistoryLimit = 999
	// "Conversations are limited to 100 bookmarks"
	// (https://docs.slack.dev/reference/methods/bookmarks.add).
	maxBookmarks = 100
)

// Option changes how New sets up the Server.
type Option func(*Server)

// WithToken makes tok the only token the Server accepts instead of BotToken.
func WithToken(tok string) Option {
	return func(s *Server) { s.token = tok }
}

// Fault is what the next call of a method meets instead of its normal answer,
// before the token is checked. Delay is waited first (or until the client
// gives up). Then a Status other than 0 or 200 is answered with that status
// and no state change (429 always carries Retry-After in whole seconds, at
// least 1); otherwise a non-empty Error is answered as HTTP 200
// {"ok":false,"error":Error} with no state change; otherwise the call proceeds
// normally after the delay.
//
// Lost makes the call take effect and then answers Status (default 500):
// the answer lost on the way back, the case where a retry must find what
// the first attempt made instead of making it again.
//
// Hang, with Lost, holds the answer after the call took effect until the
// client goes away: a process killed (or timed out) in the middle of a
// call that reached Slack.
type Fault struct {
	Status     int
	RetryAfter time.Duration
	Error      string
	Delay      time.Duration
	Lost       bool
	Hang       bool
}

// Channel is a copy of a channel's state.
type Channel struct {
	ID       string
	Name     string
	Private  bool
	Archived bool
	Topic    string
	Purpose  string
	Members  []string // user IDs in the order they joined; the bot's is BotUserID
}

// Message is a copy of a message as the fake stores it.
type Message struct {
	TS       string
	User     string // who posted it: BotUserID for the bot's own messages
	Text     string
	Blocks   json.RawMessage // the blocks argument as sent, nil when none
	Metadata *Metadata
	ThreadTS string // the parent's ts for a thread reply, "" otherwise
	Edits    int    // how many chat.update calls changed it
	Pinned   bool
	// Files are the IDs of the files the message shares
	// (files.completeUploadExternal).
	Files []string
}

// Metadata is a message's metadata as sent in chat.postMessage or chat.update.
type Metadata struct {
	EventType string
	Payload   json.RawMessage // the event_payload object
}

// Bookmark is a copy of a channel bookmark.
type Bookmark struct {
	ID    string
	Title string
	Link  string
	Type  string
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Method string
	// Params holds the form or query fields, or the top-level fields of a JSON
	// body (strings unquoted, anything else as JSON text). The token is left out.
	Params url.Values
	Time   time.Time
	Status int    // the HTTP status answered; 0 when the client went away first
	Error  string // the "error" of an ok:false answer, "" otherwise
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http  *httptest.Server
	token string

	mu       sync.Mutex
	users    []user
	groups   []userGroup
	channels []*channel // in creation order
	files    []*file    // in the order their uploads began
	lastID   int
	lastTS   int
	calls    fakeapi.Log[Call]
	faults   fakeapi.Faults[Fault]
}

type user struct {
	id, name, email string
	bot             bool
}

type userGroup struct {
	id, handle string
	users      []string
}

type channel struct {
	Channel
	created   int64
	creator   string     // the bot for channels it created; OtherUserID for seeded ones
	messages  []*message // oldest first
	bookmarks []Bookmark
}

type message struct {
	Message
	editedTS string
	files    []*file
}

// New starts a Server on a loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		token: BotToken,
		users: []user{{id: BotUserID, name: BotName, bot: true}},
	}
	for _, opt := range opts {
		opt(s)
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the API base URL, ending in "/", for slack.OptionAPIURL.
func (s *Server) URL() string { return s.http.URL + "/api/" }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// AddUser adds a workspace member.
func (s *Server) AddUser(id, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, user{id: id, name: name, email: email})
}

// AddUserGroup adds a user group (Slack calls them subteams) with its members.
func (s *Server) AddUserGroup(id, handle string, userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, userGroup{id: id, handle: handle, users: slices.Clone(userIDs)})
}

// AddChannel adds a channel that existed before the test, with the bot as its
// only member, and returns its ID. It does not check the name, so a test can
// seed any state; use SetMembers to take the bot out.
func (s *Server) AddChannel(name string, private, archived bool) (id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newChannel(name, private)
	c.Archived = archived
	c.creator = OtherUserID
	return c.ID
}

// SetMembers replaces a channel's members; leave BotUserID out to model a
// channel the bot is not in. It reports whether the channel exists.
func (s *Server) SetMembers(channelID string, userIDs ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelByID(channelID, true)
	if c == nil {
		return false
	}
	c.Members = slices.Clone(userIDs)
	return true
}

// AddMessage adds a message posted by userID (someone other than the bot, say)
// and returns its ts, or "" when the channel does not exist.
func (s *Server) AddMessage(channelID, userID, text string) (ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelByID(channelID, true)
	if c == nil {
		return ""
	}
	m := &message{Message: Message{TS: s.newTS(), User: userID, Text: text}}
	c.messages = append(c.messages, m)
	return m.TS
}

// Channels returns every channel, archived and private ones included, in the
// order they were created.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.copy())
	}
	return out
}

// ChannelByName returns the channel with that name.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.Name == name {
			return c.copy(), true
		}
	}
	return Channel{}, false
}

// Messages returns a channel's messages, thread replies included, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelByID(channelID, true)
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.messages))
	for _, m := range c.messages {
		out = append(out, m.copy())
	}
	return out
}

// Bookmarks returns a channel's bookmarks in the order they were added.
func (s *Server) Bookmarks(channelID string) []Bookmark {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelByID(channelID, true)
	if c == nil {
		return nil
	}
	return slices.Clone(c.bookmarks)
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	return s.calls.All(func(c Call) Call {
		c.Params = fakeapi.CloneValues(c.Params)
		return c
	})
}

// CallCount returns how many calls of method were received, rejected ones included.
func (s *Server) CallCount(method string) int {
	return s.calls.Count(func(c Call) bool { return c.Method == method })
}

// FailNext makes the next call of method meet f. Faults queue: calling
// FailNext twice fails the next two calls, in order.
func (s *Server) FailNext(method string, f Fault) {
	s.faults.Push(method, f)
}

// result is the JSON object a method answers.
type result map[string]any

func fail(code string) result { return result{"ok": false, "error": code} }

func ok(fields result) result {
	if fields == nil {
		fields = result{}
	}
	fields["ok"] = true
	return fields
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/upload/") {
		s.serveUpload(w, r)
		return
	}
	call := Call{Method: strings.TrimPrefix(r.URL.Path, "/api/"), Time: time.Now()}
	params, token, badBody := readParams(r)
	call.Params = params

	if f, found := s.takeFault(call.Method); found {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Lost {
			s.mu.Lock()
			_ = s.handle(call.Method, token, params, badBody)
			s.mu.Unlock()
			if f.Hang {
				<-r.Context().Done()
				s.record(call)
				return
			}
			if f.Status == 0 || f.Status == http.StatusOK {
				f.Status = http.StatusInternalServerError
			}
			s.writeStatusFault(w, call, f)
			return
		}
		if f.Status != 0 && f.Status != http.StatusOK {
			s.writeStatusFault(w, call, f)
			return
		}
		if f.Error != "" {
			s.answer(w, call, fail(f.Error))
			return
		}
	}

	s.mu.Lock()
	res := s.handle(call.Method, token, params, badBody)
	s.mu.Unlock()
	s.answer(w, call, res)
}

// handle runs a method. The caller holds s.mu.
func (s *Server) handle(method, token string, p url.Values, badBody string) result {
	h := s.handler(method)
	switch {
	case h == nil:
		return fail("unknown_method")
	case badBody != "":
		return fail(badBody)
	case token == "":
		return fail("not_authed")
	case token != s.token:
		return fail("invalid_auth")
	}
	return h(p)
}

func (s *Server) handler(method string) func(url.Values) result {
	switch method {
	case "auth.test":
		return s.authTest
	case "conversations.create":
		return s.conversationsCreate
	case "conversations.info":
		return s.conversationsInfo
	case "conversations.list":
		return s.conversationsList
	case "conversations.setTopic":
		return func(p url.Values) result { return s.setTopicOrPurpose(p, "topic") }
	case "conversations.setPurpose":
		return func(p url.Values) result { return s.setTopicOrPurpose(p, "purpose") }
	case "conversations.invite":
		return s.conversationsInvite
	case "conversations.archive":
		return s.conversationsArchive
	case "conversations.unarchive":
		return s.conversationsUnarchive
	case "conversations.history":
		return s.conversationsHistory
	case "chat.postMessage":
		return s.chatPostMessage
	case "chat.update":
		return s.chatUpdate
	case "pins.add":
		return s.pinsAdd
	case "pins.list":
		return s.pinsList
	case "bookmarks.add":
		return s.bookmarksAdd
	case "bookmarks.list":
		return s.bookmarksList
	case "usergroups.list":
		return s.usergroupsList
	case "usergroups.users.list":
		return s.usergroupsUsersList
	case "users.lookupByEmail":
		return s.usersLookupByEmail
	case "users.info":
		return s.usersInfo
	case "files.getUploadURLExternal":
		return s.filesGetUploadURLExternal
	case "files.completeUploadExternal":
		return s.filesCompleteUploadExternal
	}
	return nil
}

func (s *Server) answer(w http.ResponseWriter, call Call, res result) {
	body, err := json.Marshal(res)
	if err != nil {
		// Only a handler bug gets here; answer it as Slack answers its own.
		res, body = fail("fatal_error"), []byte(`{"ok":false,"error":"fatal_error"}`)
	}
	call.Status = http.StatusOK
	if isOK, _ := res["ok"].(bool); !isOK {
		call.Error, _ = res["error"].(string)
	}
	s.record(call)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

func (s *Server) writeStatusFault(w http.ResponseWriter, call Call, f Fault) {
	call.Status = f.Status
	retryAfter := f.RetryAfter
	if f.Status == http.StatusTooManyRequests {
		call.Error = "ratelimited"
		retryAfter = max(retryAfter, time.Second)
	}
	s.record(call)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	// Slack sends an HTML page with its 5xx answers; slack-go does not read it.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(f.Status)
	_, _ = fmt.Fprintf(w, "<html><body>slacktest: injected %d</body></html>", f.Status)
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault(method string) (Fault, bool) {
	return s.faults.Pop(method)
}

// readParams reads the arguments of a call the ways Slack takes them: a form
// body, a query string, or a JSON body; the token from an "Authorization:
// Bearer" header or a token field. badBody is Slack's error for a body it
// cannot read.
func readParams(r *http.Request) (params url.Values, token, badBody string) {
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		token = strings.TrimSpace(bearer)
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		params = r.URL.Query()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return params, token, "request_timeout"
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return params, token, "invalid_json"
		}
		for name, raw := range fields {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				params.Set(name, str)
			} else {
				params.Set(name, string(raw))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return url.Values{}, token, "invalid_form_data"
		}
		params = fakeapi.CloneValues(r.Form)
	}
	if token == "" {
		token = params.Get("token")
	}
	params.Del("token")
	return params, token, ""
}

// isTrue reads a boolean argument the ways clients send one.
func isTrue(v string) bool { return v == "true" || v == "1" }

// State helpers; callers hold s.mu.

func (s *Server) newChannel(name string, private bool) *channel {
	s.lastID++
	c := &channel{
		Channel: Channel{
			ID:      fmt.Sprintf("C%08d", s.lastID),
			Name:    name,
			Private: private,
			Members: []string{BotUserID},
		},
		created: time.Now().Unix(),
		creator: BotUserID,
	}
	s.channels = append(s.channels, c)
	return c
}

// newTS returns a message timestamp later than every one before it, in
// Slack's "seconds.microseconds" form: 1700000000.000100, 1700000000.000200, and so on.
func (s *Server) newTS() string {
	s.lastTS++
	return fmt.Sprintf("%d.%06d", 1700000000+s.lastTS/10000, s.lastTS%10000*100)
}

// channelByID finds a channel. Unless all is set it finds it as the bot sees
// it: Slack answers channel_not_found for a private channel the bot is not in.
func (s *Server) channelByID(id string, all bool) *channel {
	for _, c := range s.channels {
		if c.ID == id {
			if c.Private && !c.isMember(BotUserID) && !all {
				return nil
			}
			return c
		}
	}
	return nil
}

// channelByRef finds a channel by ID or by name (with or without "#"), as
// chat.postMessage accepts either.
func (s *Server) channelByRef(ref string) *channel {
	if c := s.channelByID(ref, false); c != nil {
		return c
	}
	name := strings.TrimPrefix(ref, "#")
	for _, c := range s.channels {
		if c.Name == name {
			return s.channelByID(c.ID, false)
		}
	}
	return nil
}

func (s *Server) user(id string) *user {
	for i := range s.users {
		if s.users[i].id == id {
			return &s.users[i]
		}
	}
	return nil
}

func (c *channel) isMember(userID string) bool { return slices.Contains(c.Members, userID) }

func (c *channel) message(ts string) *message {
	for _, m := range c.messages {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (c *channel) copy() Channel {
	out := c.Channel
	out.Members = slices.Clone(c.Members)
	return out
}

func (m *message) copy() Message {
	out := m.Message
	out.Blocks = slices.Clone(m.Blocks)
	out.Files = nil
	for _, f := range m.files {
		out.Files = append(out.Files, f.ID)
	}
	if m.Metadata != nil {
		meta := *m.Metadata
		meta.Payload = slices.Clone(meta.Payload)
		out.Metadata = &meta
	}
	return out
}
