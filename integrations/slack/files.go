package slack

import (
	"bytes"
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// Upload is a file to share in a channel.
type Upload struct {
	Channel  string // the channel's ID
	Filename string // the file's name; a repeat of the step finds the file by it (FindFile)
	Title    string
	// Comment is the message that shares the file (initial_comment).
	Comment string
	Content []byte
}

// UploadFile uploads a file and shares it in a channel the way Slack
// takes files now that files.upload is retired: files.getUploadURLExternal
// (the name and length), the upload of the bytes to the URL it answers,
// files.completeUploadExternal (the file's ID and title, the channel). It
// returns the file's ID. A run cut short before the last call leaves no
// file in the channel (Slack discards an upload never completed); one cut
// short after it may have shared the file, which FindFile finds.
func (c *Client) UploadFile(ctx context.Context, u Upload) (string, error) {
	if err := c.pace.wait(ctx, "files.getUploadURLExternal", ""); err != nil {
		return "", err
	}
	ticket, err := c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: u.Filename, FileSize: len(u.Content)})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal %s: %w", u.Filename, err)
	}
	if err := c.api.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: ticket.UploadURL, Reader: bytes.NewReader(u.Content),
		Filename: u.Filename}); err != nil {
		return "", fmt.Errorf("upload of %s: %w", u.Filename, err)
	}
	if err := c.pace.wait(ctx, "files.completeUploadExternal", ""); err != nil {
		return "", err
	}
	if _, err := c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files: []slack.FileSummary{{ID: ticket.FileID, Title: u.Title}}, Channel: u.Channel, InitialComment: u.Comment,
	}); err != nil {
		return "", fmt.Errorf("files.completeUploadExternal %s: %w", u.Filename, err)
	}
	return ticket.FileID, nil
}

// FindFile looks, among the channel's latest messages, for one of the
// bot's that shares a file named name, and returns the file's ID.
func (c *Client) FindFile(ctx context.Context, channelID, name string) (string, bool, error) {
	bot, err := c.BotUser(ctx)
	if err != nil {
		return "", false, err
	}
	cursor := ""
	for range historyPages {
		if err := c.pace.wait(ctx, "conversations.history", ""); err != nil {
			return "", false, err
		}
		resp, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Cursor: cursor, Limit: 200,
		})
		if err != nil {
			return "", false, fmt.Errorf("conversations.history: %w", err)
		}
		for _, m := range resp.Messages {
			if m.User != bot {
				continue
			}
			for _, f := range m.Files {
				if f.Name == name {
					return f.ID, true, nil
				}
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}
