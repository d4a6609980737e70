package slackbot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Limits of the Slack surface. Slack's rules are at
// https://api.slack.com/authentication/verifying-requests-from-slack and
// https://api.slack.com/interactivity/handling#message_responses.
const (
	// maxSlackBody caps a Slack request body: a command or a button
	// payload is a few KiB.
	maxSlackBody = 64 << 10
	// slackSkew is how far a request's timestamp may be from our clock.
	slackSkew = 5 * time.Minute
	// slackAnswerTTL keeps the answers to accepted requests. A timestamp
	// may be up to slackSkew ahead of our clock and stays acceptable until
	// slackSkew behind it, so a signature can be replayed for at most
	// 2×slackSkew after we first saw it: the cache must remember that long.
	slackAnswerTTL = 2 * slackSkew
	// slackMaxAnswers bounds the answer cache (an entry is a few hundred
	// bytes); the oldest go first. Real Slack traffic is a few requests a
	// minute; only a sustained flood over ~80/s (warroom-load) evicts
	// entries before their TTL, which shortens replay protection for them
	// to what the cache still holds.
	slackMaxAnswers = 50000
	// slackMaxSignatures bounds the signatures remembered per request body.
	slackMaxSignatures = 8
	// slackGroupTTL is how long a user group's members are trusted.
	slackGroupTTL = time.Minute
	// slackHandleBudget bounds the work done before answering: Slack gives
	// up on an answer after 3 s.
	slackHandleBudget = 2500 * time.Millisecond
	// slackResponseTimeout bounds a POST to a response_url.
	slackResponseTimeout = 5 * time.Second
	// slackResponseURLPrefix is where response_url must point: anything
	// else came from a forged or tampered payload.
	slackResponseURLPrefix = "https://hooks.slack.com/"
)

// Headers of Slack's requests.
const (
	hdrSlackSignature = "X-Slack-Signature"
	hdrSlackTimestamp = "X-Slack-Request-Timestamp"
	hdrSlackRetryNum  = "X-Slack-Retry-Num"
)

// slackAnswer is what an accepted Slack request was answered: the HTTP
// status and a JSON body (none for a bare 200).
type slackAnswer struct {
	code int
	body []byte
}

func (a slackAnswer) write(w http.ResponseWriter) {
	if len(a.body) == 0 {
		w.WriteHeader(a.code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.code)
	_, _ = w.Write(a.body)
}

// messageAnswer answers 200 with msg.
func messageAnswer(msg slackMessage) slackAnswer {
	b, err := json.Marshal(msg)
	if err != nil { // a struct of strings: cannot happen
		return slackAnswer{code: http.StatusInternalServerError}
	}
	return slackAnswer{code: http.StatusOK, body: b}
}

// endpoint verifies a Slack request before anything of it is parsed,
// then runs handle once per distinct request:
//
//   - no signing secret: 503;
//   - missing headers, a timestamp more than 5 minutes off, or a bad
//     signature: 401;
//   - a body over 64 KiB: 413;
//   - a signature already accepted, without X-Slack-Retry-Num: 401 (a
//     replay);
//   - a body already handled otherwise (a retry by Slack): the first
//     answer again, without running handle.
func (sl *Surface) endpoint(kind string, handle func(ctx context.Context, form url.Values) slackAnswer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sl == nil || sl.secret == "" {
			writeError(w, http.StatusServiceUnavailable, "slack is not configured")
			return
		}
		body, sig, code, why := sl.verify(w, r)
		if code != 0 {
			sl.log.Warn("slack request rejected", "kind", kind, "reason", why, "remote", r.RemoteAddr)
			writeError(w, code, why)
			return
		}
		e, fresh, seenSig := sl.answers.claim(bodyKey(body), sig)
		if !fresh {
			if seenSig && r.Header.Get(hdrSlackRetryNum) == "" {
				sl.log.Warn("slack request rejected", "kind", kind, "reason", "replayed", "remote", r.RemoteAddr)
				writeError(w, http.StatusUnauthorized, "replayed request")
				return
			}
			sl.log.Info("slack retry answered from cache", "kind", kind, "retry_num", r.Header.Get(hdrSlackRetryNum))
			e.wait(r.Context(), slackHandleBudget).write(w)
			return
		}
		ans := slackAnswer{code: http.StatusOK}
		defer func() { e.finish(ans) }() // also when handle panics: retries must not wait for nothing
		form, err := url.ParseQuery(string(body))
		if err != nil {
			ans = slackAnswer{code: http.StatusBadRequest}
		} else {
			ans = handle(r.Context(), form)
		}
		ans.write(w)
	})
}

// verify checks the headers, the timestamp and the v0 signature of r and
// returns its body and signature, or the status and reason to refuse it
// with. The timestamp is checked against our clock before the body is
// read; slack.NewSecretsVerifier checks it again against the wall clock
// and does the HMAC, compared in constant time.
func (sl *Surface) verify(w http.ResponseWriter, r *http.Request) (body []byte, sig string, code int, why string) {
	sig, ts := r.Header.Get(hdrSlackSignature), r.Header.Get(hdrSlackTimestamp)
	if sig == "" || ts == "" {
		return nil, "", http.StatusUnauthorized, "missing Slack signature headers"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, "", http.StatusUnauthorized, "malformed Slack timestamp"
	}
	if d := sl.now().Sub(time.Unix(sec, 0)); d > slackSkew || d < -slackSkew {
		return nil, "", http.StatusUnauthorized, "stale Slack timestamp"
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxSlackBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, "", http.StatusRequestEntityTooLarge, "body over " + strconv.Itoa(maxSlackBody) + " bytes"
		}
		return nil, "", http.StatusBadRequest, "could not read body"
	}
	v, err := slack.NewSecretsVerifier(r.Header, sl.secret)
	if err != nil {
		return nil, "", http.StatusUnauthorized, "invalid Slack signature"
	}
	_, _ = v.Write(body)
	if err := v.Ensure(); err != nil {
		return nil, "", http.StatusUnauthorized, "invalid Slack signature"
	}
	return body, strings.ToLower(sig), 0, ""
}

func bodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "body:" + hex.EncodeToString(sum[:])
}

// commandRequest runs a /warroom command that came over HTTP.
func (sl *Surface) commandRequest(ctx context.Context, form url.Values) slackAnswer {
	cmd := slack.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
	}
	return messageAnswer(sl.command(ctx, cmd))
}

// interactionRequest runs a button press that came over HTTP: it answers
// 200 with no body and tells the user the outcome through response_url.
func (sl *Surface) interactionRequest(ctx context.Context, form url.Values) slackAnswer {
	payload := form.Get("payload")
	if payload == "" {
		return slackAnswer{code: http.StatusBadRequest}
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		return slackAnswer{code: http.StatusBadRequest}
	}
	if msg, ok := sl.interaction(ctx, &ic); ok {
		sl.respond(ic.ResponseURL, msg)
	}
	return slackAnswer{code: http.StatusOK}
}

// responseURLMessage is an ephemeral reply posted to a response_url; it
// never replaces the message that holds the buttons.
type responseURLMessage struct {
	slackMessage
	ReplaceOriginal bool `json:"replace_original"`
}

// respond posts msg to a response_url in the background, bounded by
// slackResponseTimeout, so that the caller answers Slack at once. A URL
// that does not start with the allowed prefix is not called.
func (sl *Surface) respond(rawURL string, msg slackMessage) {
	log := sl.log
	if rawURL == "" {
		return
	}
	if !sl.allowedResponseURL(rawURL) {
		log.Warn("slack response_url refused: not a Slack URL", "host", responseURLHost(rawURL))
		return
	}
	body, err := json.Marshal(responseURLMessage{slackMessage: msg, ReplaceOriginal: false})
	if err != nil {
		return
	}
	sl.pending.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), slackResponseTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
		if err != nil {
			log.Warn("slack response_url", "err", "bad request")
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := sl.client.Do(req)
		if err != nil {
			// The URL is a credential for 30 minutes: log only that it failed.
			log.Warn("slack response_url post failed", "err", errors.Unwrap(err))
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		if resp.StatusCode != http.StatusOK {
			log.Warn("slack response_url post refused", "status", resp.StatusCode)
		}
	})
}

// Drain waits for the response_url posts in flight.
func (sl *Surface) Drain() { sl.pending.Wait() }

// allowedResponseURL reports whether raw is a URL under responsePrefix,
// with no credentials in it.
func (sl *Surface) allowedResponseURL(raw string) bool {
	if !strings.HasPrefix(raw, sl.responsePrefix) {
		return false
	}
	u, err := url.Parse(raw)
	p, perr := url.Parse(sl.responsePrefix)
	return err == nil && perr == nil && u.User == nil && u.Scheme == p.Scheme && u.Host == p.Host
}

func responseURLHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "(unparsable)"
}

// writeError refuses a request with a one-line reason in JSON, as the rest
// of the HTTP surface does.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
