package slackbot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

const testAppToken = "xapp-1-test"

// fakeSocketSlack is the Slack end of Socket Mode: apps.connections.open
// answers with the URL of a WebSocket endpoint that plays script, one
// envelope after the other, and hands each ack to acks.
type fakeSocketSlack struct {
	api  *httptest.Server
	acks chan socketAck
}

type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

func newFakeSocketSlack(t *testing.T, script []map[string]any) *fakeSocketSlack {
	f := &fakeSocketSlack{acks: make(chan socketAck, len(script))}
	upgrader := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://api.slack.com" // what slack-go sends
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+testAppToken {
			t.Errorf("apps.connections.open: Authorization %q; want the app token", r.Header.Get("Authorization"))
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws://" + r.Host + "/link"})
	})
	mux.HandleFunc("GET /link", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A1"}}); err != nil {
			t.Errorf("hello: %v", err)
			return
		}
		for _, env := range script {
			if err := conn.WriteJSON(env); err != nil {
				t.Errorf("send %v: %v", env["envelope_id"], err)
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var ack socketAck
			if err := conn.ReadJSON(&ack); err != nil {
				t.Errorf("ack of %v: %v", env["envelope_id"], err)
				return
			}
			f.acks <- ack
		}
		// Hold the connection until the client goes away.
		_ = conn.SetReadDeadline(time.Time{})
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	f.api = httptest.NewServer(mux)
	t.Cleanup(f.api.Close)
	return f
}

func (f *fakeSocketSlack) ack(t *testing.T) socketAck {
	t.Helper()
	select {
	case a := <-f.acks:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no ack within 10s")
	}
	return socketAck{}
}

func TestSocketMode(t *testing.T) {
	t.Parallel()
	sf := newSlackFixture(t, nil)
	inc := sf.declare("payments", "UCMDR")
	slash := map[string]any{
		"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": true,
		"payload": map[string]any{
			"team_id": "T1", "channel_id": "CGENERAL", "user_id": "UALICE", "command": "/warroom",
			"text": "ack " + inc.ID, "response_url": sf.hooks.srv.URL + "/commands/1", "trigger_id": "trig.1",
		},
	}
	press := map[string]any{
		"envelope_id": "env-2", "type": "interactive", "accepts_response_payload": false,
		"payload": map[string]any{
			"type": "block_actions", "user": map[string]any{"id": "UBOB"}, "channel": map[string]any{"id": "CROOM"},
			"response_url": sf.hooks.srv.URL + "/actions/1", "trigger_id": "trig.2",
			"actions": []map[string]any{{"action_id": slackmsg.ActionMitigate, "block_id": "summary_actions", "type": "button", "value": inc.ID}},
		},
	}
	again := map[string]any{} // Slack delivers env-1 again
	for k, v := range slash {
		again[k] = v
	}
	again["retry_attempt"] = 1
	again["retry_reason"] = "timeout"
	fake := newFakeSocketSlack(t, []map[string]any{slash, press, again})

	// The API URL without the trailing slash slack-go needs.
	socket := SocketOptions{AppToken: testAppToken, APIURL: fake.api.URL}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sf.bot.RunSocketMode(ctx, socket) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("RunSocketMode did not return after cancel")
		}
	}()

	a := fake.ack(t)
	var msg slackMessage
	if err := json.Unmarshal(a.Payload, &msg); err != nil {
		t.Fatalf("slash command ack payload %s: %v", a.Payload, err)
	}
	if a.EnvelopeID != "env-1" || msg.ResponseType != "in_channel" || msg.Text != "<@UALICE> acknowledged *INC-1* (payments)." {
		t.Errorf("slash command ack: %s %+v", a.EnvelopeID, msg)
	}
	first := a.Payload

	a = fake.ack(t)
	if a.EnvelopeID != "env-2" || len(a.Payload) != 0 {
		t.Errorf("interactive ack: %s %s; want env-2 without payload", a.EnvelopeID, a.Payload)
	}
	sf.bot.Drain()
	if got := sf.incident(inc.ID).State; got != incident.Mitigated {
		t.Errorf("state %s; want mitigated", got)
	}
	if ev := sf.events(inc.ID, incident.EventMitigated); len(ev) != 1 || ev[0].Actor != "UBOB" {
		t.Errorf("mitigated events %+v; want one by UBOB", ev)
	}
	msgs := sf.hooks.messages()
	if len(msgs) != 1 || msgs[0]["text"] != "You marked INC-1 mitigated." || msgs[0]["response_type"] != "ephemeral" {
		t.Errorf("response_url messages %v", msgs)
	}

	a = fake.ack(t)
	if a.EnvelopeID != "env-1" || string(a.Payload) != string(first) {
		t.Errorf("redelivered env-1 acked %s %s; want the first payload %s", a.EnvelopeID, a.Payload, first)
	}
	if ev := sf.events(inc.ID, incident.EventAcknowledged); len(ev) != 1 || ev[0].Actor != "UALICE" {
		t.Errorf("acknowledged events %+v; want one by UALICE", ev)
	}
}

func TestSocketModeInvalidAuth(t *testing.T) {
	t.Parallel()
	sf := newSlackFixture(t, nil)
	fake := newFakeSocketSlack(t, nil)
	socket := SocketOptions{AppToken: testAppToken, APIURL: fake.api.URL + "/"}
	fake.api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := sf.bot.RunSocketMode(ctx, socket)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("runSocketMode with a revoked token: %v; want invalid_auth", err)
	}
}
