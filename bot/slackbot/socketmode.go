package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// socketAPITimeout bounds the Web API calls of the Socket Mode client
// (apps.connections.open).
const socketAPITimeout = 10 * time.Second

// SocketOptions are what Socket Mode connects with: the app-level token
// (xapp-…), the bot token, and the Web API's URL ("" for Slack's).
type SocketOptions struct {
	AppToken, BotToken, APIURL string
}

// RunSocketMode receives /warroom commands and button presses over Slack's
// Socket Mode (slack.app_token) instead of the HTTP endpoints, for teams
// without a public URL, until ctx ends. Each envelope is acked with the
// reply (for a slash command, the ack payload is the response); the
// commands and buttons run through the same code as over HTTP. The
// WebSocket is opened with the app token, so there is no signature to
// check; an envelope Slack delivers again is not run twice.
func (sl *Surface) RunSocketMode(ctx context.Context, o SocketOptions) error {
	if sl == nil {
		return errors.New("socket mode: slack surface not wired")
	}
	appToken := o.AppToken
	if appToken == "" {
		return errors.New("socket mode: slack.app_token is not set")
	}
	opts := []slack.Option{
		slack.OptionAppLevelToken(appToken),
		slack.OptionHTTPClient(&http.Client{Timeout: socketAPITimeout}),
	}
	if u := o.APIURL; u != "" {
		if !strings.HasSuffix(u, "/") {
			u += "/" // slack-go appends the method name
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	client := socketmode.New(slack.New(o.BotToken, opts...),
		socketmode.OptionLog(slog.NewLogLogger(sl.log.Handler(), slog.LevelDebug)))

	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-client.Events:
			wg.Go(func() { sl.socketEvent(ctx, client, evt) })
		}
	}
}

// socketAcker is what socketEvent needs of the Socket Mode client.
type socketAcker interface {
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

// socketEvent handles one event of the Socket Mode client.
func (sl *Surface) socketEvent(ctx context.Context, client socketAcker, evt socketmode.Event) {
	log := sl.log
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		log.Debug("slack socket mode: connecting")
		return
	case socketmode.EventTypeConnected:
		log.Info("slack socket mode: connected")
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		log.Warn("slack socket mode: connection problem", "event", string(evt.Type))
		return
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
	default:
		return
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	envelope := evt.Request.EnvelopeID
	ack := func(payload json.RawMessage) {
		var p any
		if len(payload) > 0 {
			p = payload
		}
		if err := client.AckCtx(ctx, envelope, p); err != nil {
			log.Warn("slack socket mode: ack failed", "envelope_id", envelope, "err", err)
		}
	}
	e, fresh, _ := sl.answers.claim("envelope:"+envelope, "")
	if !fresh { // Slack delivered the envelope again: ack it as before
		ack(e.wait(ctx, slackHandleBudget).body)
		return
	}
	var ans slackAnswer
	defer func() { e.finish(ans) }()
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			break
		}
		ans = messageAnswer(sl.command(ctx, cmd))
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			break
		}
		if msg, ok := sl.interaction(ctx, &ic); ok {
			sl.respond(ic.ResponseURL, msg)
		}
	}
	// Events API envelopes (none subscribed) are acked so that Slack does
	// not retry them.
	ack(ans.body)
}
