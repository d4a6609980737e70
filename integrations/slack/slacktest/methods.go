package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON shapes Slack answers with.

func (c *channel) toJSON() result {
	textField := func(value string) result {
		creator, lastSet := "", int64(0)
		if value != "" {
			creator, lastSet = BotUserID, c.created
		}
		return result{"value": value, "creator": creator, "last_set": lastSet}
	}
	return result{
		"id":              c.ID,
		"name":            c.Name,
		"name_normalized": c.Name,
		"is_channel":      true,
		"is_group":        false,
		"is_im":           false,
		"is_mpim":         false,
		"is_private":      c.Private,
		"is_archived":     c.Archived,
		"is_general":      false,
		"is_shared":       false,
		"is_member":       c.isMember(BotUserID),
		"created":         c.created,
		"creator":         c.creator,
		"topic":           textField(c.Topic),
		"purpose":         textField(c.Purpose),
		"num_members":     len(c.Members),
	}
}

func (c *channel) messageJSON(m *message, withMetadata bool) result {
	out := result{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "team": TeamID}
	if m.User == BotUserID {
		out["bot_id"] = BotID
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	} else if n := c.replyCount(m.TS); n > 0 {
		out["thread_ts"] = m.TS
		out["reply_count"] = n
	}
	if m.Edits > 0 {
		out["edited"] = result{"user": m.User, "ts": m.editedTS}
	}
	if m.Pinned {
		out["pinned_to"] = []string{c.ID}
	}
	if len(m.files) > 0 {
		files := make([]result, 0, len(m.files))
		for _, f := range m.files {
			files = append(files, f.toJSON())
		}
		out["files"], out["upload"], out["display_as_bot"] = files, true, false
	}
	if withMetadata && m.Metadata != nil {
		out["metadata"] = result{"event_type": m.Metadata.EventType, "event_payload": m.Metadata.Payload}
	}
	return out
}

func (c *channel) replyCount(ts string) int {
	n := 0
	for _, m := range c.messages {
		if m.ThreadTS == ts && m.TS != ts {
			n++
		}
	}
	return n
}

func (u *user) toJSON() result {
	return result{
		"id":        u.id,
		"team_id":   TeamID,
		"name":      u.name,
		"real_name": u.name,
		"deleted":   false,
		"is_bot":    u.bot,
		"profile": result{
			"real_name":    u.name,
			"display_name": u.name,
			"email":        u.email,
		},
	}
}

// Cursors are opaque to clients; these name the first item of the next page.
func encodeCursor(key string) string {
	return base64.StdEncoding.EncodeToString([]byte("next:" + key))
}

func decodeCursor(cursor string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(raw), "next:")
}

// The methods, one function each. They run with s.mu held.

func (s *Server) authTest(url.Values) result {
	return ok(result{
		"url":     "https://warroom-test.slack.com/",
		"team":    "warroom-test",
		"user":    BotName,
		"team_id": TeamID,
		"user_id": BotUserID,
		"bot_id":  BotID,
	})
}

var channelNameChars = regexp.MustCompile(`^[a-z0-9_-]+$`)

// checkChannelName applies Slack's naming rules: "Channel names may only
// contain lowercase letters, numbers, hyphens, and underscores, and must be 80
// characters or less" (https://docs.slack.dev/reference/methods/conversations.create).
// Non-ASCII letters count as specials here; Slack's handling of them is not
// documented.
func checkChannelName(name string) string {
	switch {
	case name == "":
		return "invalid_name_required"
	case utf8.RuneCountInString(name) > maxChannelName:
		return "invalid_name_maxlength"
	case !channelNameChars.MatchString(name):
		return "invalid_name_specials"
	case strings.Trim(name, "-_") == "":
		return "invalid_name_punctuation"
	}
	return ""
}

func (s *Server) conversationsCreate(p url.Values) result {
	name := p.Get("name")
	if code := checkChannelName(name); code != "" {
		return fail(code)
	}
	// Archived channels keep their names, so their names stay taken.
	for _, c := range s.channels {
		if c.Name == name {
			return fail("name_taken")
		}
	}
	c := s.newChannel(name, isTrue(p.Get("is_private")))
	return ok(result{"channel": c.toJSON()})
}

func (s *Server) conversationsInfo(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	if c == nil {
		return fail("channel_not_found")
	}
	return ok(result{"channel": c.toJSON()})
}

func (s *Server) conversationsList(p url.Values) result {
	wantPublic, wantPrivate := false, false
	types := p.Get("types")
	if types == "" {
		types = "public_channel" // the documented default
	}
	for _, t := range strings.Split(types, ",") {
		switch strings.TrimSpace(t) {
		case "public_channel":
			wantPublic = true
		case "private_channel":
			wantPrivate = true
		case "mpim", "im":
			// The fake holds no DMs; asking for them is valid and finds none.
		default:
			return fail("invalid_types")
		}
	}
	limit := defaultListLimit
	if v := p.Get("limit"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxListLimit {
			return fail("invalid_limit")
		}
		limit = n
	}
	excludeArchived := isTrue(p.Get("exclude_archived"))

	var visible []*channel
	for _, c := range s.channels {
		wanted := wantPublic
		if c.Private {
			// A bot sees only the private channels it is in.
			wanted = wantPrivate && c.isMember(BotUserID)
		}
		if wanted && !(excludeArchived && c.Archived) {
			visible = append(visible, c)
		}
	}
	start := 0
	if cursor := p.Get("cursor"); cursor != "" {
		id, valid := decodeCursor(cursor)
		start = slices.IndexFunc(visible, func(c *channel) bool { return c.ID == id })
		if !valid || start < 0 {
			return fail("invalid_cursor")
		}
	}
	end := min(start+limit, len(visible))
	page := make([]result, 0, end-start)
	for _, c := range visible[start:end] {
		page = append(page, c.toJSON())
	}
	next := ""
	if end < len(visible) {
		next = encodeCursor(visible[end].ID)
	}
	return ok(result{"channels": page, "response_metadata": result{"next_cursor": next}})
}

// setTopicOrPurpose serves conversations.setTopic and conversations.setPurpose,
// whose argument is named like the field it sets.
func (s *Server) setTopicOrPurpose(p url.Values, field string) result {
	c, refused := writable(s.channelByID(p.Get("channel"), false))
	value := p.Get(field)
	switch {
	case refused != "":
		return fail(refused)
	case utf8.RuneCountInString(value) > maxTopic:
		return fail("too_long")
	}
	if field == "topic" {
		c.Topic = value
	} else {
		c.Purpose = value
	}
	return ok(result{"channel": c.toJSON()})
}

// conversationsInvite follows https://docs.slack.dev/reference/methods/conversations.invite:
// "Users who can be successfully invited ... will not be invited if any of the
// user invites fail. Instead, an error response will be returned." With
// force=true Slack will "continue inviting the valid ones while disregarding
// invalid IDs"; the answer is still an error when any user failed, as the docs
// describe for users in a removed state. Either way the error carries an
// "errors" array with one {"user","ok":false,"error"} per failed user (the
// shape of Slack's published OpenAPI spec, which slack-go decodes as
// ConversationsInviteResponseError), and "error" repeats the first of them.
func (s *Server) conversationsInvite(p url.Values) result {
	c, refused := writable(s.channelByID(p.Get("channel"), false))
	if refused != "" {
		return fail(refused)
	}
	var ids []string
	for _, id := range strings.Split(p.Get("users"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return fail("no_user")
	}

	var invite []string
	var failures []result
	for _, id := range ids {
		code := ""
		switch {
		case id == BotUserID:
			code = "cant_invite_self"
		case s.user(id) == nil:
			code = "user_not_found"
		case c.isMember(id):
			code = "already_in_channel"
		}
		if code != "" {
			failures = append(failures, result{"user": id, "ok": false, "error": code})
		} else if !slices.Contains(invite, id) {
			invite = append(invite, id)
		}
	}
	if len(failures) > 0 && !isTrue(p.Get("force")) {
		return result{"ok": false, "error": failures[0]["error"], "errors": failures}
	}
	c.Members = append(c.Members, invite...)
	if len(failures) > 0 {
		return result{"ok": false, "error": failures[0]["error"], "errors": failures}
	}
	return ok(result{"channel": c.toJSON()})
}

func (s *Server) conversationsArchive(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	switch {
	case c == nil:
		return fail("channel_not_found")
	case c.Archived:
		return fail("already_archived")
	}
	c.Archived = true
	return ok(nil)
}

func (s *Server) conversationsUnarchive(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	switch {
	case c == nil:
		return fail("channel_not_found")
	case !c.Archived:
		return fail("not_archived")
	}
	c.Archived = false
	return ok(nil)
}

// conversationsHistory answers newest first, leaving thread replies out as
// Slack does (they are read with conversations.replies). Metadata is included
// only with include_all_metadata. A bot reading a public channel it is not in
// gets not_in_channel (what Slack answers bot tokens; not in the documented
// error list).
func (s *Server) conversationsHistory(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	switch {
	case c == nil:
		return fail("channel_not_found")
	case !c.isMember(BotUserID):
		return fail("not_in_channel")
	}
	limit := defaultListLimit
	if n, err := strconv.Atoi(p.Get("limit")); err == nil && n > 0 {
		limit = min(n, maxHistoryLimit)
	}
	var top []*message
	for i := len(c.messages) - 1; i >= 0; i-- {
		if m := c.messages[i]; m.ThreadTS == "" || m.ThreadTS == m.TS {
			top = append(top, m)
		}
	}
	start := 0
	if cursor := p.Get("cursor"); cursor != "" {
		ts, valid := decodeCursor(cursor)
		start = slices.IndexFunc(top, func(m *message) bool { return m.TS == ts })
		if !valid || start < 0 {
			return fail("invalid_cursor")
		}
	}
	end := min(start+limit, len(top))
	withMetadata := isTrue(p.Get("include_all_metadata"))
	page := make([]result, 0, end-start)
	for _, m := range top[start:end] {
		page = append(page, c.messageJSON(m, withMetadata))
	}
	next := ""
	if end < len(top) {
		next = encodeCursor(top[end].TS)
	}
	pins := 0
	for _, m := range c.messages {
		if m.Pinned {
			pins++
		}
	}
	return ok(result{
		"messages":          page,
		"has_more":          next != "",
		"pin_count":         pins,
		"response_metadata": result{"next_cursor": next},
	})
}

// content is the text, blocks and metadata of a chat.postMessage or
// chat.update call, checked.
type content struct {
	text      string
	blocks    json.RawMessage // nil when absent or empty
	metadata  *Metadata
	metaGiven bool   // the metadata argument was present ("{}" removes metadata on update)
	warning   string // Slack's warning code, when metadata was ignored
}

// readContent checks a message's arguments in the order Slack documents its
// errors: no_text, msg_too_long, invalid_blocks_format, invalid_blocks,
// invalid_metadata_format.
func readContent(p url.Values) (content, result) {
	var m content
	m.text = p.Get("text")
	var blocks []any
	if raw := p.Get("blocks"); raw != "" {
		// Read before no_text is decided, since "[]" carries no content.
		if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
			return m, fail("invalid_blocks_format")
		}
		if len(blocks) > 0 {
			m.blocks = json.RawMessage(raw)
		}
	}
	switch {
	case m.text == "" && len(blocks) == 0:
		return m, fail("no_text")
	case utf8.RuneCountInString(m.text) > maxMessageText:
		return m, fail("msg_too_long")
	}
	if problems := checkBlocks(blocks); len(problems) > 0 {
		res := fail("invalid_blocks")
		messages := make([]string, len(problems))
		for i, problem := range problems {
			messages[i] = "[ERROR] " + problem
		}
		res["errors"] = problems
		res["response_metadata"] = result{"messages": messages}
		return m, res
	}
	if raw, given := p["metadata"]; given {
		m.metaGiven = true
		meta, warning, code := parseMetadata(raw[0])
		if code != "" {
			return m, fail(code)
		}
		m.metadata, m.warning = meta, warning
	}
	return m, nil
}

var eventTypeChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// parseMetadata reads a metadata argument, {"event_type", "event_payload"}.
// Per https://docs.slack.dev/messaging/message-metadata, event_type "can contain
// letters, numbers, underscores, and hyphens"; metadata with an invalid
// event_type "returns an invalid_metadata_schema warning and is ignored".
// What is not a JSON object is invalid_metadata_format. An empty object means
// no metadata (chat.update: "To remove previous metadata, include an empty
// object").
func parseMetadata(raw string) (meta *Metadata, warning, errCode string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil || fields == nil {
		return nil, "", "invalid_metadata_format"
	}
	if len(fields) == 0 {
		return nil, "", ""
	}
	var eventType string
	if err := json.Unmarshal(fields["event_type"], &eventType); err != nil || !eventTypeChars.MatchString(eventType) {
		return nil, "invalid_metadata_schema", ""
	}
	payload := fields["event_payload"]
	if len(payload) == 0 || string(payload) == "null" {
		payload = json.RawMessage("{}")
	}
	var object map[string]any
	if err := json.Unmarshal(payload, &object); err != nil {
		return nil, "", "invalid_metadata_format"
	}
	return &Metadata{EventType: eventType, Payload: slices.Clone(payload)}, "", ""
}

func withWarning(res result, warning string) result {
	if warning != "" {
		res["warning"] = warning
		res["response_metadata"] = result{"warnings": []string{warning}}
	}
	return res
}

func (s *Server) chatPostMessage(p url.Values) result {
	c, refused := writable(s.channelByRef(p.Get("channel")))
	if refused != "" {
		return fail(refused)
	}
	body, res := readContent(p)
	if res != nil {
		return res
	}
	m := &message{Message: Message{
		TS:       s.newTS(),
		User:     BotUserID,
		Text:     body.text,
		Blocks:   body.blocks,
		Metadata: body.metadata,
		ThreadTS: p.Get("thread_ts"),
	}}
	c.messages = append(c.messages, m)
	return withWarning(ok(result{
		"channel": c.ID,
		"ts":      m.TS,
		"message": c.messageJSON(m, true),
	}), body.warning)
}

// chatUpdate replaces the text; blocks and metadata are kept when their
// argument is absent and replaced (cleared by "[]" and "{}") when present, as
// Slack does (slack-go issue 1214; chat.update docs for metadata). Archived
// channels answer is_inactive, the documented error for "a frozen, archived
// or deleted channel".
func (s *Server) chatUpdate(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	if c == nil {
		return fail("channel_not_found")
	}
	if c.Archived {
		return fail("is_inactive")
	}
	m := c.message(p.Get("ts"))
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.User != BotUserID:
		return fail("cant_update_message")
	}
	body, res := readContent(p)
	if res != nil {
		return res
	}
	m.Text = body.text
	if _, given := p["blocks"]; given {
		m.Blocks = body.blocks
	}
	if body.metaGiven && body.warning == "" {
		m.Metadata = body.metadata
	}
	m.Edits++
	m.editedTS = s.newTS()
	return withWarning(ok(result{
		"channel": c.ID,
		"ts":      m.TS,
		"text":    m.Text,
		"message": c.messageJSON(m, true),
	}), body.warning)
}

func (s *Server) pinsAdd(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	if c == nil {
		return fail("channel_not_found")
	}
	ts := p.Get("timestamp")
	if ts == "" {
		return fail("no_item_specified")
	}
	m := c.message(ts)
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.Pinned:
		return fail("already_pinned")
	}
	m.Pinned = true
	return ok(nil)
}

func (s *Server) pinsList(p url.Values) result {
	c := s.channelByID(p.Get("channel"), false)
	if c == nil {
		return fail("channel_not_found")
	}
	items := []result{}
	for _, m := range c.messages {
		if m.Pinned {
			items = append(items, result{
				"type":       "message",
				"channel":    c.ID,
				"created_by": BotUserID,
				"message":    c.messageJSON(m, false),
			})
		}
	}
	return ok(result{"items": items})
}

// bookmarksAdd follows https://docs.slack.dev/reference/methods/bookmarks.add:
// only type "link" is accepted, and invalid_link means the link does not
// "begin with either http:// or https://". The bot must be in the channel
// (not_in_channel); that error is not in the documented list.
func (s *Server) bookmarksAdd(p url.Values) result {
	c := s.channelByID(p.Get("channel_id"), false)
	link := p.Get("link")
	switch {
	case c == nil:
		return fail("channel_not_found")
	case !c.isMember(BotUserID):
		return fail("not_in_channel")
	case p.Get("type") != "link":
		return fail("invalid_bookmark_type")
	case p.Get("title") == "":
		return fail("invalid_arguments")
	case !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://"):
		return fail("invalid_link")
	case len(c.bookmarks) >= maxBookmarks:
		return fail("too_many_bookmarks")
	}
	s.lastID++
	b := Bookmark{ID: fmt.Sprintf("Bk%08d", s.lastID), Title: p.Get("title"), Link: link, Type: "link"}
	c.bookmarks = append(c.bookmarks, b)
	return ok(result{"bookmark": bookmarkJSON(c.ID, b)})
}

func (s *Server) bookmarksList(p url.Values) result {
	c := s.channelByID(p.Get("channel_id"), false)
	if c == nil {
		return fail("channel_not_found")
	}
	list := make([]result, 0, len(c.bookmarks))
	for _, b := range c.bookmarks {
		list = append(list, bookmarkJSON(c.ID, b))
	}
	return ok(result{"bookmarks": list})
}

func bookmarkJSON(channelID string, b Bookmark) result {
	return result{
		"id":                      b.ID,
		"channel_id":              channelID,
		"title":                   b.Title,
		"link":                    b.Link,
		"type":                    b.Type,
		"last_updated_by_user_id": BotUserID,
		"last_updated_by_team_id": TeamID,
	}
}

// usergroupsList lists every group; members only with include_users and
// counts only with include_count, as Slack answers.
func (s *Server) usergroupsList(p url.Values) result {
	list := make([]result, 0, len(s.groups))
	for _, g := range s.groups {
		item := result{
			"id":           g.id,
			"team_id":      TeamID,
			"is_usergroup": true,
			"name":         g.handle,
			"handle":       g.handle,
		}
		if isTrue(p.Get("include_users")) {
			item["users"] = g.users
		}
		if isTrue(p.Get("include_count")) {
			item["user_count"] = len(g.users)
		}
		list = append(list, item)
	}
	return ok(result{"usergroups": list})
}

func (s *Server) usergroupsUsersList(p url.Values) result {
	for _, g := range s.groups {
		if g.id == p.Get("usergroup") {
			return ok(result{"users": slices.Clone(g.users)})
		}
	}
	return fail("no_such_subteam")
}

// usersLookupByEmail matches emails without regard to case, as email
// addresses are compared in practice; Slack does not document it.
func (s *Server) usersLookupByEmail(p url.Values) result {
	email := p.Get("email")
	for i := range s.users {
		if u := &s.users[i]; u.email != "" && strings.EqualFold(u.email, email) {
			return ok(result{"user": u.toJSON()})
		}
	}
	return fail("users_not_found")
}

func (s *Server) usersInfo(p url.Values) result {
	u := s.user(p.Get("user"))
	if u == nil {
		return fail("user_not_found")
	}
	return ok(result{"user": u.toJSON()})
}

// writable returns c if the bot may write in it, else the error Slack
// answers: channel_not_found (no such channel, or a private one the bot
// is not in), is_archived, not_in_channel.
func writable(c *channel) (*channel, string) {
	switch {
	case c == nil:
		return nil, "channel_not_found"
	case c.Archived:
		return nil, "is_archived"
	case !c.isMember(BotUserID):
		return nil, "not_in_channel"
	}
	return c, ""
}
