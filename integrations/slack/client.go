// Package slack is warroom's typed client for the Slack Web API, on
// github.com/slack-go/slack: the calls a war room needs, each safe to
// repeat ("already done" answers are success), with Slack's errors kept
// readable. It holds no domain logic and imports no package of warroom.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Client calls the Slack Web API with a bot token.
type Client struct {
	api  *slack.Client
	pace *pacer

	mu      sync.Mutex
	botUser string            // the bot's own user ID, from auth.test
	groups  map[string]string // user-group handle → ID
}

// DefaultTimeout bounds one call when New is given no http.Client.
const DefaultTimeout = 15 * time.Second

// New returns a client for the bot token. apiURL, if not empty, replaces
// https://slack.com/api/ (a test double). slack-go's own retries stay off:
// a rate-limited call is the job's to reschedule.
func New(token, apiURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	return &Client{api: slack.New(token, opts...), pace: newPacer(), groups: map[string]string{}}
}

// API returns the underlying slack-go client.
func (c *Client) API() *slack.Client { return c.api }

// ErrorCode returns Slack's error string of a failed call ("name_taken"),
// or "" when the call did not fail with one.
func ErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// RetryAfter reports how long Slack asked to wait after a 429, or how
// long the pacer holds a call back.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	var we *WaitError
	if errors.As(err, &we) {
		return we.Wait, true
	}
	return 0, false
}

// ServerError reports an HTTP 5xx from Slack (worth a retry).
func ServerError(err error) bool {
	var sc slack.StatusCodeError
	return errors.As(err, &sc) && sc.Code >= 500
}

// Permanent reports an error that retrying cannot fix: a bad token, a
// missing scope, a refused payload, a channel that is gone.
func Permanent(err error) bool {
	switch ErrorCode(err) {
	case "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "missing_scope",
		"not_allowed_token_type", "no_permission", "restricted_action", "invalid_blocks", "invalid_metadata_format",
		"invalid_metadata_schema", "msg_too_long", "no_text", "channel_not_found", "is_archived", "not_in_channel",
		"invalid_name_specials", "invalid_name_maxlength", "invalid_name_required", "invalid_name_punctuation",
		"invalid_name", "too_long", "cant_update_message", "message_not_found", "ekm_access_denied", "team_access_not_granted":
		return true
	}
	return false
}

// BotUser returns the bot's own user ID (auth.test, asked once).
func (c *Client) BotUser(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.botUser
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if err := c.pace.wait(ctx, "auth.test", ""); err != nil {
		return "", err
	}
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return "", fmt.Errorf("auth.test: %w", err)
	}
	c.mu.Lock()
	c.botUser = resp.UserID
	c.mu.Unlock()
	return resp.UserID, nil
}

// Channel is what warroom needs to know of a conversation.
type Channel struct {
	ID       string
	Name     string
	Creator  string
	Archived bool
	Purpose  string
	Topic    string
}

func channelOf(ch *slack.Channel) Channel {
	return Channel{ID: ch.ID, Name: ch.Name, Creator: ch.Creator, Archived: ch.IsArchived, Purpose: ch.Purpose.Value, Topic: ch.Topic.Value}
}

// CreateChannel creates a channel. A taken name (archived channels count)
// fails with ErrorCode "name_taken".
func (c *Client) CreateChannel(ctx context.Context, name string, private bool) (Channel, error) {
	if err := c.pace.wait(ctx, "conversations.create", ""); err != nil {
		return Channel{}, err
	}
	ch, err := c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if err != nil {
		return Channel{}, fmt.Errorf("conversations.create %s: %w", name, err)
	}
	return channelOf(ch), nil
}

// maxListPages bounds a channel lookup by name (1000 channels a page).
const maxListPages = 50

// FindChannel looks a channel up by name among the public and private
// channels the bot can see, archived ones included.
func (c *Client) FindChannel(ctx context.Context, name string) (Channel, bool, error) {
	name = strings.TrimPrefix(name, "#")
	cursor := ""
	for range maxListPages {
		if err := c.pace.wait(ctx, "conversations.list", ""); err != nil {
			return Channel{}, false, err
		}
		chans, next, err := c.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor: cursor, Limit: 1000, Types: []string{"public_channel", "private_channel"},
		})
		if err != nil {
			return Channel{}, false, fmt.Errorf("conversations.list: %w", err)
		}
		for i := range chans {
			if chans[i].Name == name {
				return channelOf(&chans[i]), true, nil
			}
		}
		if next == "" {
			return Channel{}, false, nil
		}
		cursor = next
	}
	return Channel{}, false, fmt.Errorf("conversations.list: no %s within %d pages", name, maxListPages)
}

// ChannelInfo returns a channel by ID.
func (c *Client) ChannelInfo(ctx context.Context, id string) (Channel, error) {
	if err := c.pace.wait(ctx, "conversations.info", ""); err != nil {
		return Channel{}, err
	}
	ch, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil {
		return Channel{}, fmt.Errorf("conversations.info %s: %w", id, err)
	}
	return channelOf(ch), nil
}

// SetTopic and SetPurpose overwrite a channel's topic and purpose.
func (c *Client) SetTopic(ctx context.Context, channelID, topic string) error {
	if err := c.pace.wait(ctx, "conversations.setTopic", ""); err != nil {
		return err
	}
	if _, err := c.api.SetTopicOfConversationContext(ctx, channelID, topic); err != nil {
		return fmt.Errorf("conversations.setTopic: %w", err)
	}
	return nil
}

// SetPurpose overwrites a channel's purpose.
func (c *Client) SetPurpose(ctx context.Context, channelID, purpose string) error {
	if err := c.pace.wait(ctx, "conversations.setPurpose", ""); err != nil {
		return err
	}
	if _, err := c.api.SetPurposeOfConversationContext(ctx, channelID, purpose); err != nil {
		return fmt.Errorf("conversations.setPurpose: %w", err)
	}
	return nil
}

// Invite adds one user to a channel; a user already there is success.
func (c *Client) Invite(ctx context.Context, channelID, userID string) error {
	if err := c.pace.wait(ctx, "conversations.invite", ""); err != nil {
		return err
	}
	_, err := c.api.InviteUsersToConversationContext(ctx, channelID, userID)
	if err != nil && ErrorCode(err) != "already_in_channel" {
		return fmt.Errorf("conversations.invite %s: %w", userID, err)
	}
	return nil
}

// UserGroupMembers returns the members of the user group with this handle
// ("sre-oncall", with or without "@").
func (c *Client) UserGroupMembers(ctx context.Context, handle string) ([]string, error) {
	handle = strings.TrimPrefix(handle, "@")
	c.mu.Lock()
	id, ok := c.groups[handle]
	c.mu.Unlock()
	if !ok {
		if err := c.pace.wait(ctx, "usergroups.list", ""); err != nil {
			return nil, err
		}
		groups, err := c.api.GetUserGroupsContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("usergroups.list: %w", err)
		}
		c.mu.Lock()
		for _, g := range groups {
			c.groups[g.Handle] = g.ID
		}
		id, ok = c.groups[handle]
		c.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("usergroups.list: no user group @%s", handle)
		}
	}
	if err := c.pace.wait(ctx, "usergroups.users.list", ""); err != nil {
		return nil, err
	}
	members, err := c.api.GetUserGroupMembersContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list @%s: %w", handle, err)
	}
	return members, nil
}

// UserByEmail returns the user ID of an email address.
func (c *Client) UserByEmail(ctx context.Context, email string) (string, error) {
	if err := c.pace.wait(ctx, "users.lookupByEmail", ""); err != nil {
		return "", err
	}
	u, err := c.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return "", fmt.Errorf("users.lookupByEmail %s: %w", email, err)
	}
	return u.ID, nil
}

// Message is a message to post or to update in place.
type Message struct {
	Text   string
	Blocks []slack.Block
	// Kind and Key go into the message's metadata (event_type and
	// event_payload.key), so that a repeat of the step finds the message
	// an earlier attempt posted instead of posting it twice.
	Kind, Key string
	ThreadTS  string
}

func (m Message) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if m.Kind != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: m.Kind, EventPayload: map[string]any{"key": m.Key}}))
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	return opts
}

// Post posts a message and returns its channel ID and ts.
func (c *Client) Post(ctx context.Context, channel string, m Message) (string, string, error) {
	if err := c.pace.wait(ctx, "chat.postMessage", channel); err != nil {
		return "", "", err
	}
	ch, ts, err := c.api.PostMessageContext(ctx, channel, m.options()...)
	if err != nil {
		return "", "", fmt.Errorf("chat.postMessage: %w", err)
	}
	return ch, ts, nil
}

// Update replaces a message's text and blocks.
func (c *Client) Update(ctx context.Context, channelID, ts string, m Message) error {
	if err := c.pace.wait(ctx, "chat.update", ""); err != nil {
		return err
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, channelID, ts, m.options()...); err != nil {
		return fmt.Errorf("chat.update: %w", err)
	}
	return nil
}

// historyPages bounds how far back FindMessage looks (200 messages a page).
const historyPages = 5

// FindMessage looks, among the channel's latest messages, for one posted
// with this metadata kind and key, and returns its ts.
func (c *Client) FindMessage(ctx context.Context, channelID, kind, key string) (string, bool, error) {
	cursor := ""
	for range historyPages {
		if err := c.pace.wait(ctx, "conversations.history", ""); err != nil {
			return "", false, err
		}
		resp, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Cursor: cursor, Limit: 200, IncludeAllMetadata: true,
		})
		if err != nil {
			return "", false, fmt.Errorf("conversations.history: %w", err)
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == kind && fmt.Sprint(m.Metadata.EventPayload["key"]) == key {
				return m.Timestamp, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// Pin pins a message; one already pinned is success.
func (c *Client) Pin(ctx context.Context, channelID, ts string) error {
	if err := c.pace.wait(ctx, "pins.add", ""); err != nil {
		return err
	}
	err := c.api.AddPinContext(ctx, channelID, slack.NewRefToMessage(channelID, ts))
	if err != nil && ErrorCode(err) != "already_pinned" {
		return fmt.Errorf("pins.add: %w", err)
	}
	return nil
}

// Bookmarks lists a channel's bookmarks as link → title.
func (c *Client) Bookmarks(ctx context.Context, channelID string) (map[string]string, error) {
	if err := c.pace.wait(ctx, "bookmarks.list", ""); err != nil {
		return nil, err
	}
	bs, err := c.api.ListBookmarksContext(ctx, channelID)
	if err != nil {
		return nil, fmt.Errorf("bookmarks.list: %w", err)
	}
	out := make(map[string]string, len(bs))
	for _, b := range bs {
		out[b.Link] = b.Title
	}
	return out, nil
}

// AddBookmark adds a link bookmark.
func (c *Client) AddBookmark(ctx context.Context, channelID, title, link string) error {
	if err := c.pace.wait(ctx, "bookmarks.add", ""); err != nil {
		return err
	}
	if _, err := c.api.AddBookmarkContext(ctx, channelID, slack.AddBookmarkParameters{Title: title, Type: "link", Link: link}); err != nil {
		return fmt.Errorf("bookmarks.add %s: %w", title, err)
	}
	return nil
}

// Archive archives a channel; one already archived is success.
func (c *Client) Archive(ctx context.Context, channelID string) error {
	if err := c.pace.wait(ctx, "conversations.archive", ""); err != nil {
		return err
	}
	err := c.api.ArchiveConversationContext(ctx, channelID)
	if err != nil && ErrorCode(err) != "already_archived" {
		return fmt.Errorf("conversations.archive: %w", err)
	}
	return nil
}
