package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// start returns a fresh fake and a real slack-go client pointed at it.
func start(t *testing.T, opts ...slacktest.Option) (*slacktest.Server, *slack.Client) {
	t.Helper()
	s := slacktest.New(opts...)
	t.Cleanup(s.Close)
	return s, slack.New(slacktest.BotToken, slack.OptionAPIURL(s.URL()))
}

// code returns the error code of a Slack ok:false answer, "" for nil or any
// other error.
func code(err error) string {
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return resp.Err
	}
	return ""
}

// create makes a channel through the API and returns its ID.
func create(t *testing.T, api *slack.Client, name string, private bool) string {
	t.Helper()
	ch, err := api.CreateConversationContext(context.Background(), slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return ch.ID
}

func post(t *testing.T, api *slack.Client, channel string, opts ...slack.MsgOption) string {
	t.Helper()
	_, ts, err := api.PostMessageContext(context.Background(), channel, opts...)
	if err != nil {
		t.Fatalf("post to %s: %v", channel, err)
	}
	return ts
}

func TestCreateNameRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want string // "" when Slack accepts the name
	}{
		{"inc-42-db-latency", ""},
		{"inc_2026_11_26", ""},
		{"42", ""},
		{strings.Repeat("a", 80), ""},
		{"", "invalid_name_required"},
		{strings.Repeat("a", 81), "invalid_name_maxlength"},
		{"Inc-42", "invalid_name_specials"},
		{"inc 42", "invalid_name_specials"},
		{"inc.42", "invalid_name_specials"},
		{"#inc-42", "invalid_name_specials"},
		{"inc-42-café", "invalid_name_specials"},
		{"---", "invalid_name_punctuation"},
		{"_-_", "invalid_name_punctuation"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.20q", tc.name), func(t *testing.T) {
			t.Parallel()
			s, api := start(t)
			ch, err := api.CreateConversationContext(context.Background(), slack.CreateConversationParams{ChannelName: tc.name})
			if got := code(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("create %q: error %v, want %q", tc.name, err, tc.want)
			}
			stored, found := s.ChannelByName(tc.name)
			if tc.want != "" {
				if found || len(s.Channels()) != 0 {
					t.Fatalf("rejected name %q was stored: %+v", tc.name, s.Channels())
				}
				return
			}
			if !found || stored.ID != ch.ID || ch.Name != tc.name || stored.Private {
				t.Fatalf("created %+v, stored %+v (found %v)", ch, stored, found)
			}
			if !slices.Equal(stored.Members, []string{slacktest.BotUserID}) || !ch.IsMember {
				t.Errorf("the bot should be the only member: %v (is_member %v)", stored.Members, ch.IsMember)
			}
		})
	}
}

func TestCreatePrivate(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	id := create(t, api, "inc-7-secret", true)
	if c, _ := s.ChannelByName("inc-7-secret"); !c.Private || c.ID != id {
		t.Errorf("stored %+v, want a private channel %s", c, id)
	}
}

func TestCreateNameTaken(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	s.AddChannel("inc-40-old", false, true) // archived channels keep their names
	s.AddChannel("inc-41-old", true, true)
	hidden := s.AddChannel("inc-39-hidden", true, false)
	s.SetMembers(hidden, "U1") // private, and the bot is not in it
	create(t, api, "inc-43", false)

	for _, name := range []string{"inc-40-old", "inc-41-old", "inc-39-hidden", "inc-43"} {
		_, err := api.CreateConversationContext(context.Background(), slack.CreateConversationParams{ChannelName: name})
		if code(err) != "name_taken" {
			t.Errorf("create %q: %v, want name_taken", name, err)
		}
	}
	if n := len(s.Channels()); n != 4 {
		t.Errorf("%d channels, want 4 (no duplicate created)", n)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.AddChannel("announce", false, false)
	s.AddChannel("inc-1-old", false, true)
	s.AddChannel("inc-2-secret", true, false)
	hidden := s.AddChannel("hr-private", true, false)
	s.SetMembers(hidden, "U1")
	create(t, api, "inc-3", false)
	create(t, api, "inc-4", false)
	create(t, api, "inc-5", true)

	list := func(params slack.GetConversationsParameters) (names []string, pages int) {
		t.Helper()
		for {
			channels, next, err := api.GetConversationsContext(ctx, &params)
			if err != nil {
				t.Fatalf("list %+v: %v", params, err)
			}
			if params.Limit > 0 && len(channels) > params.Limit {
				t.Fatalf("page of %d channels, limit %d", len(channels), params.Limit)
			}
			pages++
			for _, c := range channels {
				names = append(names, c.Name)
			}
			if next == "" {
				return names, pages
			}
			params.Cursor = next
		}
	}

	both := []string{"public_channel", "private_channel"}
	names, pages := list(slack.GetConversationsParameters{Types: both, Limit: 2})
	want := []string{"announce", "inc-1-old", "inc-2-secret", "inc-3", "inc-4", "inc-5"}
	if !slices.Equal(names, want) || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3 (archived included, private only where the bot is)", names, pages, want)
	}

	names, _ = list(slack.GetConversationsParameters{Types: both, Limit: 2, ExcludeArchived: true})
	if slices.Contains(names, "inc-1-old") || len(names) != 5 {
		t.Errorf("exclude_archived listed %v", names)
	}

	names, _ = list(slack.GetConversationsParameters{Limit: 100}) // Slack's default type is public_channel
	if !slices.Equal(names, []string{"announce", "inc-1-old", "inc-3", "inc-4"}) {
		t.Errorf("default types listed %v, want the public channels only", names)
	}

	_, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Cursor: "bm90LWEtY3Vyc29y"})
	if code(err) != "invalid_cursor" {
		t.Errorf("bad cursor: %v, want invalid_cursor", err)
	}
	_, _, err = api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Limit: 1001})
	if code(err) != "invalid_limit" {
		t.Errorf("limit 1001: %v, want invalid_limit", err)
	}
	_, err = api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: hidden})
	if code(err) != "channel_not_found" {
		t.Errorf("info on a private channel the bot is not in: %v, want channel_not_found", err)
	}
}

func TestInvite(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.AddUser("U1", "alice", "alice@example.com")
	s.AddUser("U2", "bob", "bob@example.com")
	s.AddUser("U3", "carol", "carol@example.com")
	ch := create(t, api, "inc-42", false)
	members := func() []string { c, _ := s.ChannelByName("inc-42"); return c.Members }

	if _, err := api.InviteUsersToConversationContext(ctx, ch, "U1"); err != nil {
		t.Fatalf("invite U1: %v", err)
	}
	if !slices.Contains(members(), "U1") {
		t.Fatalf("U1 not a member after invite: %v", members())
	}

	for _, tc := range []struct {
		users []string
		want  string
	}{
		{[]string{"U1"}, "already_in_channel"},
		{[]string{"U404"}, "user_not_found"},
		{[]string{slacktest.BotUserID}, "cant_invite_self"},
		{[]string{"U2", "U404"}, "user_not_found"}, // one failure stops the whole call
		{nil, "no_user"},
	} {
		_, err := api.InviteUsersToConversationContext(ctx, ch, tc.users...)
		if code(err) != tc.want {
			t.Errorf("invite %v: %v, want %s", tc.users, err, tc.want)
		}
	}
	if slices.Contains(members(), "U2") {
		t.Errorf("U2 was invited although another user of the call failed: %v", members())
	}

	// With force the valid users are invited; the failed ones come back per user.
	_, err := api.ForceInviteUsersToConversationContext(ctx, ch, "U2", "U404")
	var resp slack.SlackErrorResponse
	if !errors.As(err, &resp) || len(resp.Errors) != 1 || resp.Errors[0].ConversationsInviteResponseError == nil {
		t.Fatalf("force invite: %v (%+v), want one per-user error", err, resp)
	}
	if e := resp.Errors[0].ConversationsInviteResponseError; e.User != "U404" || e.Error != "user_not_found" {
		t.Errorf("per-user error %+v, want U404 user_not_found", e)
	}
	if !slices.Equal(members(), []string{slacktest.BotUserID, "U1", "U2"}) {
		t.Errorf("members %v after force invite", members())
	}

	if err := api.ArchiveConversationContext(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, ch, "U3"); code(err) != "is_archived" {
		t.Errorf("invite to an archived channel: %v, want is_archived", err)
	}
	outside := s.AddChannel("general", false, false)
	s.SetMembers(outside, "U1")
	if _, err := api.InviteUsersToConversationContext(ctx, outside, "U3"); code(err) != "not_in_channel" {
		t.Errorf("invite to a channel the bot is not in: %v, want not_in_channel", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, "C404", "U3"); code(err) != "channel_not_found" {
		t.Errorf("invite to an unknown channel: %v, want channel_not_found", err)
	}
}

func TestMetadataInHistory(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-42", false)

	first := post(t, api, ch, slack.MsgOptionText("Incident declared", false))
	second := post(t, api, ch,
		slack.MsgOptionText("Status: mitigated", false),
		slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType:    "incident_status",
			EventPayload: map[string]any{"incident_id": "INC-42", "severity": "sev1"},
		}))
	post(t, api, ch, slack.MsgOptionText("a reply", false), slack.MsgOptionTS(first))

	tsForm := regexp.MustCompile(`^\d{10}\.\d{6}$`)
	if !tsForm.MatchString(first) || !tsForm.MatchString(second) || second <= first {
		t.Errorf("timestamps %q, %q: want increasing seconds.micros", first, second)
	}

	history := func(include bool) []slack.Message {
		t.Helper()
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, IncludeAllMetadata: include})
		if err != nil {
			t.Fatal(err)
		}
		return h.Messages
	}
	plain := history(false)
	if len(plain) != 2 || plain[0].Timestamp != second || plain[1].Timestamp != first {
		t.Fatalf("history %+v: want the two top-level messages, newest first", plain)
	}
	if plain[0].Metadata.EventType != "" {
		t.Errorf("metadata returned without include_all_metadata: %+v", plain[0].Metadata)
	}
	if plain[1].ReplyCount != 1 {
		t.Errorf("reply_count %d, want 1", plain[1].ReplyCount)
	}

	withMeta := history(true)
	meta := withMeta[0].Metadata
	if meta.EventType != "incident_status" || meta.EventPayload["incident_id"] != "INC-42" || meta.EventPayload["severity"] != "sev1" {
		t.Errorf("metadata %+v, want incident_status with the payload", meta)
	}

	page, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 1})
	if err != nil || len(page.Messages) != 1 || !page.HasMore || page.ResponseMetaData.NextCursor == "" {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 1, Cursor: page.ResponseMetaData.NextCursor})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Timestamp != first || page.HasMore {
		t.Errorf("second page %+v, %v", page, err)
	}

	// An event_type with a period is ignored with a warning, as Slack does.
	ts := post(t, api, ch, slack.MsgOptionText("x", false),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "incident.status", EventPayload: map[string]any{}}))
	if msgs := s.Messages(ch); msgs[len(msgs)-1].TS != ts || msgs[len(msgs)-1].Metadata != nil {
		t.Errorf("metadata with an invalid event_type was kept: %+v", msgs[len(msgs)-1])
	}
}

func TestPostMessageRejections(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ch := create(t, api, "inc-42", false)
	archived := s.AddChannel("inc-41", false, true)
	outside := s.AddChannel("general", false, false)
	s.SetMembers(outside)
	hidden := s.AddChannel("hr", true, false)
	s.SetMembers(hidden)

	for _, tc := range []struct {
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"C404", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{hidden, []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{archived, []slack.MsgOption{slack.MsgOptionText("hi", false)}, "is_archived"},
		{outside, []slack.MsgOption{slack.MsgOptionText("hi", false)}, "not_in_channel"},
		{ch, nil, "no_text"},
		{ch, []slack.MsgOption{slack.MsgOptionBlocks()}, "no_text"},
		{ch, []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", 40001), false)}, "msg_too_long"},
	} {
		_, _, err := api.PostMessageContext(context.Background(), tc.channel, tc.opts...)
		if code(err) != tc.want {
			t.Errorf("post to %s: %v, want %s", tc.channel, err, tc.want)
		}
	}
	if n := len(s.Messages(ch)) + len(s.Messages(archived)) + len(s.Messages(outside)); n != 0 {
		t.Fatalf("%d rejected messages stored", n)
	}
	for channel, want := range map[string]string{outside: "not_in_channel", hidden: "channel_not_found"} {
		_, err := api.GetConversationHistoryContext(context.Background(), &slack.GetConversationHistoryParameters{ChannelID: channel})
		if code(err) != want {
			t.Errorf("history of %s: %v, want %s", channel, err, want)
		}
	}

	post(t, api, ch, slack.MsgOptionText(strings.Repeat("x", 40000), false))
	channel, _, err := api.PostMessageContext(context.Background(), "#inc-42", slack.MsgOptionText("by name", false))
	if err != nil || channel != ch {
		t.Errorf("post by name: channel %q, %v; want %s", channel, err, ch)
	}
	if n := len(s.Messages(ch)); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

func TestUpdateMessage(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.AddUser("U1", "alice", "alice@example.com")
	ch := create(t, api, "inc-42", false)
	section := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*Status:* investigating", false, false), nil, nil)
	ts := post(t, api, ch,
		slack.MsgOptionText("investigating", false),
		slack.MsgOptionBlocks(section),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "incident_status", EventPayload: map[string]any{"status": "investigating"}}))

	if _, _, _, err := api.UpdateMessageContext(ctx, ch, ts, slack.MsgOptionText("mitigated", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	m := s.Messages(ch)[0]
	if m.Text != "mitigated" || m.Edits != 1 || m.Blocks == nil || m.Metadata == nil || m.Metadata.EventType != "incident_status" {
		t.Errorf("after a text-only update %+v: want new text, one edit, blocks and metadata kept", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, ts, slack.MsgOptionText("resolved", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatalf("update clearing blocks: %v", err)
	}
	if m := s.Messages(ch)[0]; m.Blocks != nil || m.Edits != 2 {
		t.Errorf("after blocks=[] %+v: want blocks cleared and two edits", m)
	}

	theirs := s.AddMessage(ch, "U1", "I see it too")
	archived := s.AddChannel("inc-41", false, true)
	for _, tc := range []struct {
		channel, ts string
		opts        []slack.MsgOption
		want        string
	}{
		{ch, "1600000000.000100", []slack.MsgOption{slack.MsgOptionText("x", false)}, "message_not_found"},
		{ch, theirs, []slack.MsgOption{slack.MsgOptionText("x", false)}, "cant_update_message"},
		{"C404", ts, []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{archived, ts, []slack.MsgOption{slack.MsgOptionText("x", false)}, "is_inactive"},
		{ch, ts, nil, "no_text"},
		{ch, ts, []slack.MsgOption{slack.MsgOptionText("x", false), slack.MsgOptionBlocks(slack.NewHeaderBlock(
			slack.NewTextBlockObject("plain_text", strings.Repeat("h", 151), false, false)))}, "invalid_blocks"},
	} {
		_, _, _, err := api.UpdateMessageContext(ctx, tc.channel, tc.ts, tc.opts...)
		if code(err) != tc.want {
			t.Errorf("update %s/%s: %v, want %s", tc.channel, tc.ts, err, tc.want)
		}
	}
	if m := s.Messages(ch)[0]; m.Text != "resolved" || m.Edits != 2 {
		t.Errorf("a rejected update changed the message: %+v", m)
	}
	if m := s.Messages(ch)[1]; m.Text != "I see it too" || m.Edits != 0 {
		t.Errorf("someone else's message changed: %+v", m)
	}
}

func TestPins(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-42", false)
	ts := post(t, api, ch, slack.MsgOptionText("Summary", false))

	if err := api.AddPinContext(ctx, ch, slack.ItemRef{Timestamp: ts}); err != nil {
		t.Fatalf("pin: %v", err)
	}
	if err := api.AddPinContext(ctx, ch, slack.ItemRef{Timestamp: ts}); code(err) != "already_pinned" {
		t.Errorf("second pin: %v, want already_pinned", err)
	}
	if err := api.AddPinContext(ctx, ch, slack.ItemRef{Timestamp: "1600000000.000100"}); code(err) != "message_not_found" {
		t.Errorf("pin unknown ts: %v, want message_not_found", err)
	}
	if err := api.AddPinContext(ctx, ch, slack.ItemRef{}); code(err) != "no_item_specified" {
		t.Errorf("pin nothing: %v, want no_item_specified", err)
	}
	if err := api.AddPinContext(ctx, "C404", slack.ItemRef{Timestamp: ts}); code(err) != "channel_not_found" {
		t.Errorf("pin in unknown channel: %v, want channel_not_found", err)
	}

	items, _, err := api.ListPinsContext(ctx, ch)
	if err != nil || len(items) != 1 || items[0].Message == nil || items[0].Message.Timestamp != ts {
		t.Errorf("pins.list: %+v, %v; want the one message", items, err)
	}
	if m := s.Messages(ch)[0]; !m.Pinned {
		t.Errorf("message not marked pinned: %+v", m)
	}
}

func TestBookmarks(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-42", false)
	outside := s.AddChannel("general", false, false)
	s.SetMembers(outside)

	b, err := api.AddBookmarkContext(ctx, ch, slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://runbooks.example.com/db"})
	if err != nil || b.ID == "" || b.Link != "https://runbooks.example.com/db" {
		t.Fatalf("add: %+v, %v", b, err)
	}
	for _, tc := range []struct {
		channel string
		params  slack.AddBookmarkParameters
		want    string
	}{
		{ch, slack.AddBookmarkParameters{Title: "FTP", Type: "link", Link: "ftp://files.example.com"}, "invalid_link"},
		{ch, slack.AddBookmarkParameters{Title: "Bare", Type: "link", Link: "runbooks.example.com"}, "invalid_link"},
		{ch, slack.AddBookmarkParameters{Title: "Msg", Type: "message", Link: "https://example.com"}, "invalid_bookmark_type"},
		{outside, slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://example.com"}, "not_in_channel"},
		{"C404", slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://example.com"}, "channel_not_found"},
	} {
		if _, err := api.AddBookmarkContext(ctx, tc.channel, tc.params); code(err) != tc.want {
			t.Errorf("add %+v to %s: %v, want %s", tc.params, tc.channel, err, tc.want)
		}
	}
	want := []slacktest.Bookmark{{ID: b.ID, Title: "Runbook", Link: "https://runbooks.example.com/db", Type: "link"}}
	if got := s.Bookmarks(ch); !slices.Equal(got, want) {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	if list, err := api.ListBookmarksContext(ctx, ch); err != nil || len(list) != 1 || list[0].Title != "Runbook" {
		t.Errorf("bookmarks.list: %+v, %v", list, err)
	}
}

func TestUserGroups(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.AddUser("U1", "alice", "alice@example.com")
	s.AddUser("U2", "bob", "bob@example.com")
	s.AddUser("U3", "carol", "carol@example.com")
	s.AddUserGroup("S0DBONCALL", "db-oncall", "U1", "U2")
	s.AddUserGroup("S0WEBONCALL", "web-oncall", "U3")

	groups, err := api.GetUserGroupsContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, g := range groups {
		if g.Handle == "db-oncall" {
			id = g.ID
		}
		if len(g.Users) != 0 {
			t.Errorf("users listed without include_users: %+v", g)
		}
	}
	if id != "S0DBONCALL" {
		t.Fatalf("handle db-oncall mapped to %q in %+v", id, groups)
	}
	members, err := api.GetUserGroupMembersContext(ctx, id)
	if err != nil || !slices.Equal(members, []string{"U1", "U2"}) {
		t.Errorf("members of %s: %v, %v", id, members, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S0NOPE"); code(err) != "no_such_subteam" {
		t.Errorf("unknown group: %v, want no_such_subteam", err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.AddUser("U1", "alice", "alice@example.com")

	for _, email := range []string{"alice@example.com", "Alice@Example.com"} {
		if u, err := api.GetUserByEmailContext(ctx, email); err != nil || u.ID != "U1" || u.Profile.Email != "alice@example.com" {
			t.Errorf("lookup %s: %+v, %v", email, u, err)
		}
	}
	if _, err := api.GetUserByEmailContext(ctx, "nobody@example.com"); code(err) != "users_not_found" {
		t.Errorf("unknown email: %v, want users_not_found", err)
	}
	if u, err := api.GetUserInfoContext(ctx, "U1"); err != nil || u.Name != "alice" {
		t.Errorf("users.info U1: %+v, %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U404"); code(err) != "user_not_found" {
		t.Errorf("users.info U404: %v, want user_not_found", err)
	}
}

func TestTopicPurposeArchive(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-42", false)
	outside := s.AddChannel("general", false, false)
	s.SetMembers(outside)

	if _, err := api.SetTopicOfConversationContext(ctx, ch, strings.Repeat("t", 250)); err != nil {
		t.Fatalf("250-character topic: %v", err)
	}
	if _, err := api.SetPurposeOfConversationContext(ctx, ch, "Database latency"); err != nil {
		t.Fatalf("purpose: %v", err)
	}
	if _, err := api.SetTopicOfConversationContext(ctx, ch, strings.Repeat("t", 251)); code(err) != "too_long" {
		t.Errorf("251-character topic: %v, want too_long", err)
	}
	if _, err := api.SetPurposeOfConversationContext(ctx, ch, strings.Repeat("p", 251)); code(err) != "too_long" {
		t.Errorf("251-character purpose: %v, want too_long", err)
	}
	if _, err := api.SetTopicOfConversationContext(ctx, outside, "x"); code(err) != "not_in_channel" {
		t.Errorf("topic of a channel the bot is not in: %v, want not_in_channel", err)
	}
	if _, err := api.SetTopicOfConversationContext(ctx, "C404", "x"); code(err) != "channel_not_found" {
		t.Errorf("topic of an unknown channel: %v, want channel_not_found", err)
	}
	if c, _ := s.ChannelByName("inc-42"); c.Topic != strings.Repeat("t", 250) || c.Purpose != "Database latency" {
		t.Errorf("stored topic %q, purpose %q", c.Topic, c.Purpose)
	}

	if err := api.ArchiveConversationContext(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := api.ArchiveConversationContext(ctx, ch); code(err) != "already_archived" {
		t.Errorf("archive twice: %v, want already_archived", err)
	}
	if _, err := api.SetTopicOfConversationContext(ctx, ch, "x"); code(err) != "is_archived" {
		t.Errorf("topic of an archived channel: %v, want is_archived", err)
	}
	if err := api.UnArchiveConversationContext(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := api.UnArchiveConversationContext(ctx, ch); code(err) != "not_archived" {
		t.Errorf("unarchive twice: %v, want not_archived", err)
	}
	if c, _ := s.ChannelByName("inc-42"); c.Archived {
		t.Errorf("still archived: %+v", c)
	}
}

// blocks decodes Block Kit JSON with slack-go's own types, as warroom builds them.
func blocks(t *testing.T, raw string) []slack.Block {
	t.Helper()
	var b slack.Blocks
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatalf("decode blocks %s: %v", raw, err)
	}
	return b.BlockSet
}

func repeatJSON(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

func TestInvalidBlocks(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	button := func(text, actionID string) string {
		return fmt.Sprintf(`{"type":"button","text":{"type":"plain_text","text":%q},"action_id":%q}`, text, actionID)
	}
	confirm := `{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"plain_text","text":"Really"},"confirm":{"type":"plain_text","text":"Yes"},"deny":{"type":"plain_text","text":"No"}}`
	tests := []struct {
		name    string
		blocks  string
		pointer string // the json-pointer Slack's message must name
	}{
		{"51 blocks", repeatJSON(`{"type":"divider"}`, 51), "/blocks]"},
		{"unknown block type", `[{"type":"blink","text":"x"}]`, "/blocks/0/type"},
		{"section text over 3000", `[{"type":"section","text":{"type":"mrkdwn","text":"` + long(3001) + `"}}]`, "/blocks/0/text/text"},
		{"section without text or fields", `[{"type":"section"}]`, "/blocks/0]"},
		{"empty section text", `[{"type":"section","text":{"type":"mrkdwn","text":""}}]`, "/blocks/0/text/text"},
		{"11 fields", `[{"type":"section","fields":` + repeatJSON(`{"type":"mrkdwn","text":"f"}`, 11) + `}]`, "/blocks/0/fields]"},
		{"field over 2000", `[{"type":"section","fields":[{"type":"mrkdwn","text":"` + long(2001) + `"}]}]`, "/blocks/0/fields/0/text"},
		{"text type markdown", `[{"type":"section","text":{"type":"markdown","text":"x"}}]`, "/blocks/0/text/type"},
		{"header over 150", `[{"type":"header","text":{"type":"plain_text","text":"` + long(151) + `"}}]`, "/blocks/0/text/text"},
		{"header mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"*x*"}}]`, "/blocks/0/text/type"},
		{"button text over 75", `[{"type":"actions","elements":[` + button(long(76), "a") + `]}]`, "/blocks/0/elements/0/text/text"},
		{"button text mrkdwn", `[{"type":"actions","elements":[{"type":"button","text":{"type":"mrkdwn","text":"x"},"action_id":"a"}]}]`, "/blocks/0/elements/0/text/type"},
		{"action_id over 255", `[{"type":"actions","elements":[` + button("Ack", long(256)) + `]}]`, "/blocks/0/elements/0/action_id"},
		{"duplicate action_id", `[{"type":"actions","elements":[` + button("Ack", "ack") + `]},{"type":"actions","elements":[` + button("Ack again", "ack") + `]}]`, "/blocks/1/elements/0/action_id"},
		{"button url over 3000", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Open"},"url":"https://e.com/` + long(3001-len("https://e.com/")) + `"}]}]`, "/blocks/0/elements/0/url"},
		{"accessory url over 3000", `[{"type":"section","text":{"type":"mrkdwn","text":"x"},"accessory":{"type":"button","text":{"type":"plain_text","text":"Open"},"url":"https://e.com/` + long(3001-len("https://e.com/")) + `"}}]`, "/blocks/0/accessory/url"},
		{"26 action elements", `[{"type":"actions","elements":` + repeatJSON(`{"type":"button","text":{"type":"plain_text","text":"b"}}`, 26) + `}]`, "/blocks/0/elements]"},
		{"11 context elements", `[{"type":"context","elements":` + repeatJSON(`{"type":"mrkdwn","text":"c"}`, 11) + `}]`, "/blocks/0/elements]"},
		{"confirm without title", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Resolve"},"action_id":"r","confirm":` + strings.Replace(confirm, `"title":{"type":"plain_text","text":"Sure?"},`, "", 1) + `}]}]`, "/blocks/0/elements/0/confirm/title"},
		{"confirm without deny", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Resolve"},"action_id":"r","confirm":` + strings.Replace(confirm, `,"deny":{"type":"plain_text","text":"No"}`, "", 1) + `}]}]`, "/blocks/0/elements/0/confirm/deny"},
		{"image url over 3000", `[{"type":"image","image_url":"https://e.com/` + long(3001-len("https://e.com/")) + `","alt_text":"graph"}]`, "/blocks/0/image_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, api := start(t)
			ch := create(t, api, "inc-42", false)
			_, _, err := api.PostMessageContext(context.Background(), ch,
				slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(blocks(t, tc.blocks)...))
			var resp slack.SlackErrorResponse
			if !errors.As(err, &resp) || resp.Err != "invalid_blocks" {
				t.Fatalf("post: %v, want invalid_blocks", err)
			}
			named := false
			for _, m := range resp.ResponseMetadata.Messages {
				if strings.HasPrefix(m, "[ERROR] ") && strings.Contains(m+"]", "[json-pointer:"+tc.pointer) {
					named = true
				}
			}
			if !named || len(resp.Errors) == 0 {
				t.Errorf("messages %q (errors %d) do not name %s", resp.ResponseMetadata.Messages, len(resp.Errors), tc.pointer)
			}
			if n := len(s.Messages(ch)); n != 0 {
				t.Errorf("a message with invalid blocks was stored")
			}
		})
	}
}

// TestValidBlocks guards the other way: a full war-room message must pass.
func TestValidBlocks(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ch := create(t, api, "inc-42", false)
	raw := `[
		{"type":"header","text":{"type":"plain_text","text":"INC-42 · Database latency"}},
		{"type":"section","text":{"type":"mrkdwn","text":"*Severity:* sev1"},
		 "fields":[{"type":"mrkdwn","text":"*Commander*\n<@U1>"},{"type":"mrkdwn","text":"*Status*\ninvestigating"}],
		 "accessory":{"type":"button","text":{"type":"plain_text","text":"Runbook"},"url":"https://runbooks.example.com/db","action_id":"open_runbook"}},
		{"type":"divider"},
		{"type":"context","elements":[{"type":"mrkdwn","text":"Declared by alertmanager"},{"type":"image","image_url":"https://example.com/a.png","alt_text":"alertmanager"}]},
		{"type":"actions","elements":[
			{"type":"button","text":{"type":"plain_text","text":"Acknowledge"},"action_id":"ack","style":"primary","value":"INC-42"},
			{"type":"button","text":{"type":"plain_text","text":"Resolve"},"action_id":"resolve","style":"danger",
			 "confirm":{"title":{"type":"plain_text","text":"Resolve INC-42?"},"text":{"type":"mrkdwn","text":"This closes the war room."},"confirm":{"type":"plain_text","text":"Resolve"},"deny":{"type":"plain_text","text":"Cancel"}}}]},
		{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"timeline"}]}]},
		{"type":"image","image_url":"https://grafana.example.com/render/d/abc.png","alt_text":"p99 latency","title":{"type":"plain_text","text":"p99"}}
	]`
	post(t, api, ch, slack.MsgOptionText("INC-42 declared", false), slack.MsgOptionBlocks(blocks(t, raw)...))
	if msgs := s.Messages(ch); len(msgs) != 1 || !strings.Contains(string(msgs[0].Blocks), "open_runbook") {
		t.Errorf("stored %+v", msgs)
	}
	fifty := blocks(t, repeatJSON(`{"type":"divider"}`, 50))
	post(t, api, ch, slack.MsgOptionText("fifty", false), slack.MsgOptionBlocks(fifty...))
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	resp, err := api.AuthTestContext(ctx)
	if err != nil || resp.UserID != slacktest.BotUserID || resp.TeamID != slacktest.TeamID {
		t.Fatalf("auth.test: %+v, %v", resp, err)
	}

	wrong := slack.New("xoxb-wrong", slack.OptionAPIURL(s.URL()))
	if _, err := wrong.AuthTestContext(ctx); code(err) != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	if _, err := wrong.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-1"}); code(err) != "invalid_auth" {
		t.Errorf("create with wrong token: %v, want invalid_auth", err)
	}
	none := slack.New("", slack.OptionAPIURL(s.URL()))
	if _, err := none.AuthTestContext(ctx); code(err) != "not_authed" {
		t.Errorf("no token: %v, want not_authed", err)
	}
	if len(s.Channels()) != 0 {
		t.Errorf("a call with a wrong token changed state: %+v", s.Channels())
	}

	calls := s.Calls()
	if len(calls) != 4 || calls[1].Error != "invalid_auth" || calls[3].Error != "not_authed" || calls[2].Params.Get("name") != "inc-1" {
		t.Errorf("calls %+v", calls)
	}
	for _, c := range calls {
		if c.Params.Has("token") || c.Status != http.StatusOK || c.Time.IsZero() {
			t.Errorf("call %+v: want token left out, status 200 and a time", c)
		}
	}

	other, otherAPI := start(t, slacktest.WithToken("xoxb-other"))
	if _, err := otherAPI.AuthTestContext(ctx); code(err) != "invalid_auth" {
		t.Errorf("BotToken against WithToken: %v, want invalid_auth", err)
	}
	if _, err := slack.New("xoxb-other", slack.OptionAPIURL(other.URL())).AuthTestContext(ctx); err != nil {
		t.Errorf("WithToken's token: %v", err)
	}

	if _, err := api.GetEmojiContext(ctx); code(err) != "unknown_method" {
		t.Errorf("emoji.list: %v, want unknown_method", err)
	}
}

// TestJSONBody posts the way Slack's JSON clients do: a JSON body and the token
// in an Authorization header.
func TestJSONBody(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ch := create(t, api, "inc-42", false)
	send := func(auth, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	body := `{"channel":"` + ch + `","text":"hi","blocks":[{"type":"divider"}],"metadata":{"event_type":"incident_note","event_payload":{"n":1}}}`
	if out := send(slacktest.BotToken, body); out["ok"] != true {
		t.Fatalf("JSON post: %v", out)
	}
	if out := send("", body); out["error"] != "not_authed" {
		t.Errorf("JSON post without a header: %v, want not_authed", out)
	}
	if out := send(slacktest.BotToken, `{"channel":"`+ch+`","text":"x","metadata":"not json"}`); out["error"] != "invalid_metadata_format" {
		t.Errorf("bad metadata: %v, want invalid_metadata_format", out)
	}
	if out := send(slacktest.BotToken, `{"channel":"`+ch+`","text":"x","blocks":"[not json"}`); out["error"] != "invalid_blocks_format" {
		t.Errorf("bad blocks: %v, want invalid_blocks_format", out)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 1 || msgs[0].Metadata == nil || string(msgs[0].Metadata.Payload) != `{"n":1}` || string(msgs[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("stored %+v", msgs)
	}

	form := url.Values{"token": {slacktest.BotToken}, "channel": {ch}}
	resp, err := http.PostForm(s.URL()+"conversations.info", form)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"ok":true`) {
		t.Errorf("form post with a token field: %s", raw)
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	ch := create(t, api, "inc-42", false)
	s.FailNext("chat.postMessage", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	s.FailNext("chat.postMessage", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})

	for _, want := range []time.Duration{30 * time.Second, 2 * time.Second} {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hi", false))
		var limited *slack.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfter != want {
			t.Errorf("post: %v, want *slack.RateLimitedError with RetryAfter %s", err, want)
		}
	}
	if n := len(s.Messages(ch)); n != 0 {
		t.Fatalf("a rate-limited post was stored")
	}
	post(t, api, ch, slack.MsgOptionText("hi", false))
	if n := s.CallCount("chat.postMessage"); n != 3 {
		t.Errorf("CallCount %d, want 3", n)
	}
	if c := s.Calls()[1]; c.Status != http.StatusTooManyRequests || c.Error != "ratelimited" {
		t.Errorf("recorded %+v", c)
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ctx := context.Background()
	s.FailNext("conversations.create", slacktest.Fault{Status: http.StatusServiceUnavailable})
	s.FailNext("conversations.create", slacktest.Fault{Status: http.StatusInternalServerError})
	s.FailNext("conversations.create", slacktest.Fault{Error: "internal_error"})
	params := slack.CreateConversationParams{ChannelName: "inc-42"}

	for _, status := range []int{503, 500} {
		_, err := api.CreateConversationContext(ctx, params)
		var sc slack.StatusCodeError
		if !errors.As(err, &sc) || sc.Code != status {
			t.Errorf("create: %v, want slack.StatusCodeError %d", err, status)
		}
	}
	if _, err := api.CreateConversationContext(ctx, params); code(err) != "internal_error" {
		t.Errorf("create: %v, want internal_error", err)
	}
	if len(s.Channels()) != 0 {
		t.Fatalf("a failed create made a channel: %+v", s.Channels())
	}
	create(t, api, "inc-42", false)
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	s.FailNext("auth.test", slacktest.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := api.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow call: %v, want the context deadline", err)
	}

	s.FailNext("auth.test", slacktest.Fault{Delay: 30 * time.Millisecond})
	begin := time.Now()
	if _, err := api.AuthTestContext(context.Background()); err != nil {
		t.Errorf("delayed call: %v", err)
	}
	if took := time.Since(begin); took < 30*time.Millisecond {
		t.Errorf("delayed call took %s, want at least 30ms", took)
	}
}

func TestConcurrentPosts(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	ch := create(t, api, "inc-42", false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := api.PostMessageContext(context.Background(), ch, slack.MsgOptionText(fmt.Sprint(i), false)); err != nil {
				t.Errorf("post %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range s.Messages(ch) {
		seen[m.TS] = true
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct timestamps for 20 posts", len(seen))
	}
}

// Hang takes effect and then answers nothing until the client goes away:
// a process killed in the middle of a call that reached Slack.
func TestHang(t *testing.T) {
	t.Parallel()
	s, api := start(t)
	s.FailNext("conversations.create", slacktest.Fault{Lost: true, Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-7"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung create: %v, want the client's deadline", err)
	}
	if chans := s.Channels(); len(chans) != 1 || chans[0].Name != "inc-7" {
		t.Fatalf("the hung create should have taken effect: %+v", chans)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.CallCount("conversations.create") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the hung call was not recorded once its client went away")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c := s.Calls()[0]; c.Status != 0 {
		t.Errorf("recorded %+v, want status 0 (no answer)", c)
	}
}
