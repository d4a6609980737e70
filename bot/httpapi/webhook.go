package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
)

// DefaultMaxBody is the webhook body cap when the config sets none.
const DefaultMaxBody = 4 << 20

// webhookResponse says what a delivery did.
type webhookResponse struct {
	Status    string                 `json:"status"`
	Opened    []string               `json:"opened"`
	Attached  []string               `json:"attached"`
	Escalated []string               `json:"escalated"`
	Reopened  []string               `json:"reopened"`
	Recorded  []string               `json:"recorded"`
	Resolved  []string               `json:"resolved"`
	Alerts    []incident.AlertResult `json:"alerts"`
}

// webhook takes an Alertmanager (v4) or Grafana (v1) payload. The status
// contract (Alertmanager retries 5xx only): 200 after commit; 400 for a
// payload that is malformed or invalid; 401 for bad credentials; 413 over
// the body cap; 503 when the store cannot commit within its timeout, or at
// once (with Retry-After) when webhook.max_in_flight_bytes of bodies are
// already in hand.
func (a *API) webhook(source incident.Source) http.Handler {
	version := payload.VersionAlertmanager
	if source == incident.SourceGrafana {
		version = payload.VersionGrafana
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		outcome, status := "accepted", http.StatusOK
		defer func() {
			a.metrics.webhooks.WithLabelValues(string(source), outcome).Inc()
			a.metrics.webhookDuration.WithLabelValues(string(source)).Observe(time.Since(start).Seconds())
			if a.tracer != nil {
				endWebhookSpan(trace.SpanFromContext(r.Context()), outcome, status)
			}
		}()
		fail := func(code int, o, msg string) {
			outcome, status = o, code
			writeError(w, code, msg)
		}
		if why := a.auth.check(r); why != "" {
			a.auth.challenge(w)
			fail(http.StatusUnauthorized, "unauthorized", why)
			return
		}
		// The bytes of the bodies in hand are bounded, so that requests
		// piling up behind a stalled store cannot take all memory: past
		// the budget, a sender is told at once to come back later.
		size := a.cfg.Webhook.MaxBodyBytes
		if r.ContentLength >= 0 && r.ContentLength < size {
			size = r.ContentLength
		}
		if !a.inflight.take(size) {
			w.Header().Set("Retry-After", "1")
			fail(http.StatusServiceUnavailable, "busy", "too many webhooks in hand; retry")
			return
		}
		defer a.inflight.give(size)
		msg, status, err := a.decode(w, r, version)
		if err != nil {
			o := "bad_request"
			if status == http.StatusRequestEntityTooLarge {
				o = "too_large"
			}
			fail(status, o, err.Error())
			return
		}
		d := Delivery(msg, source, a.now())
		res, err := a.svc.Ingest(r.Context(), d)
		if err != nil {
			switch incident.ErrorCode(err) {
			case incident.EINVALID:
				fail(http.StatusBadRequest, "bad_request", incident.ErrorMessage(err))
			default:
				a.log.Error("webhook not stored", "source", source, "receiver", msg.Receiver, "alerts", len(msg.Alerts), "err", err)
				fail(http.StatusServiceUnavailable, "unavailable", "not stored: the store is unavailable; retry")
			}
			return
		}
		for _, al := range res.Alerts {
			a.metrics.alerts.WithLabelValues(string(al.Decision)).Inc()
			if al.Withheld != "" {
				a.metrics.withheld.Inc()
			}
			if al.WithheldNow {
				a.log.Warn("war room withheld", "incident", al.Incident, "reason", al.Withheld)
			}
		}
		resp := webhookResponse{Status: "ok", Opened: list(res.Incidents(incident.OutcomeOpened)),
			Attached: list(res.Incidents(incident.OutcomeAttached)), Escalated: list(res.Incidents(incident.OutcomeEscalated)),
			Reopened: list(res.Incidents(incident.OutcomeReopened)), Recorded: list(res.Incidents(incident.OutcomeRecorded)),
			Resolved: list(res.ResolvedIncidents), Alerts: res.Alerts}
		if len(resp.Opened)+len(resp.Escalated)+len(resp.Reopened)+len(resp.Resolved) > 0 {
			a.log.Info("webhook", "source", source, "opened", resp.Opened, "escalated", resp.Escalated,
				"reopened", resp.Reopened, "resolved", resp.Resolved)
		}
		writeJSON(w, http.StatusOK, resp)
	})
	if a.tracer == nil {
		return h // tracing off: nothing more on the intake's path
	}
	route := "POST /api/v1/alerts/" + string(source)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A sender that traces its own requests makes this span a child.
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := a.tracer.Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route)))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// endWebhookSpan records a webhook's outcome on its span.
func endWebhookSpan(span trace.Span, outcome string, status int) {
	span.SetAttributes(attribute.String("warroom.outcome", outcome), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, outcome)
	}
}

// budget counts bytes in hand against a limit.
type budget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes, or reports false if they do not fit.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes taken.
func (b *budget) give(n int64) { b.used.Add(-n) }

// decode reads, caps and validates a payload.
func (a *API) decode(w http.ResponseWriter, r *http.Request, version string) (*payload.Message, int, error) {
	if why := jsonContentType(r, false); why != "" {
		return nil, http.StatusUnsupportedMediaType, errors.New(why)
	}
	limit := a.cfg.Webhook.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", limit)
		}
		return nil, http.StatusBadRequest, errors.New("could not read body")
	}
	if !utf8.Valid(body) {
		return nil, http.StatusBadRequest, errors.New("body is not valid UTF-8")
	}
	if err := checkNUL(body); err != nil {
		return nil, http.StatusBadRequest, err
	}
	var msg payload.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		// Unmarshal decodes the body in place (a Decoder would copy it
		// first); the Decoder says better what is wrong with a bad one.
		return nil, http.StatusBadRequest, malformed(body)
	}
	if err := msg.Validate(version); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("invalid payload: %w", err)
	}
	return &msg, 0, nil
}

// checkNUL refuses a JSON body with a NUL character (\u0000) in any
// string, naming where: PostgreSQL cannot store one in text, and a payload
// the store refuses must be a 400 the sender drops, not a 503 it retries
// forever. (JSON's decoder turns invalid UTF-8 and lone surrogates into
// U+FFFD, so NUL is the one character that gets this far.)
func checkNUL(body []byte) error {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil // the common case costs one scan
	}
	switch where, name := nulPath(body); {
	case where != "" && name:
		return fmt.Errorf("%s: a name contains a NUL character", where)
	case where != "":
		return fmt.Errorf("%s: contains a NUL character", where)
	}
	return nil
}

// mapFields are the objects whose names are data (label names and the
// like), shown as ["name"] in a path rather than .name.
var mapFields = map[string]bool{"labels": true, "annotations": true, "commonLabels": true,
	"commonAnnotations": true, "groupLabels": true, "values": true}

// nulPath returns the path of the first string of body that holds a NUL,
// such as alerts[2].labels["service"], and whether it is a name (then the
// path is the object's); "" when there is none or body is not JSON (the
// decoder says why).
func nulPath(body []byte) (where string, name bool) {
	type frame struct {
		object  bool
		name    string // the current member's name
		index   int    // the current element's index
		wantKey bool
		isMap   bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			case f.isMap:
				fmt.Fprintf(&b, "[%q]", truncateName(f.name))
			default:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(truncateName(f.name))
			}
		}
		return b.String()
	}
	// next moves past a value of the innermost container.
	next := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				isMap := false
				if n := len(stack); n > 0 && stack[n-1].object {
					isMap = mapFields[stack[n-1].name]
				}
				stack = append(stack, &frame{object: v == '{', wantKey: true, isMap: isMap})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		case string:
			f := (*frame)(nil)
			if n := len(stack); n > 0 {
				f = stack[n-1]
			}
			if f != nil && f.object && f.wantKey {
				if strings.IndexByte(v, 0) >= 0 {
					stack = stack[:len(stack)-1]
					where := path()
					if where == "" {
						where = "the payload"
					}
					return where, true
				}
				f.name, f.wantKey = v, false
				continue
			}
			if strings.IndexByte(v, 0) >= 0 {
				if p := path(); p != "" {
					return p, false
				}
				return "the payload", false
			}
			next()
		default:
			next()
		}
	}
}

// truncateName keeps a name from the payload short in an error.
func truncateName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// malformed says what is wrong with a body json.Unmarshal refused.
func malformed(body []byte) error {
	var msg payload.Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&msg); err != nil {
		return fmt.Errorf("malformed JSON: %s", jsonErr(err))
	}
	if dec.More() {
		return errors.New("malformed JSON: data after the payload")
	}
	return errors.New("malformed JSON")
}

// readBody reads a body of at most limit bytes into one buffer sized by
// its Content-Length when the client sent one (io.ReadAll would grow and
// copy its buffer several times for every webhook).
func readBody(rd io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength > 0 && contentLength <= limit {
		size = contentLength + 1 // +1: the read that finds the end
	}
	body := make([]byte, 0, size)
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := rd.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
	}
}

// jsonErr shortens decoder errors to one line without echoing input.
func jsonErr(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: want %s, got %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// Delivery turns a decoded payload into the delivery the incident service
// ingests, received at now.
func Delivery(m *payload.Message, source incident.Source, now time.Time) *incident.Delivery {
	d := &incident.Delivery{Source: source, Receiver: m.Receiver, GroupKey: m.GroupKey, Status: m.Status,
		TruncatedAlerts: m.TruncatedAlerts, ReceivedAt: now, Alerts: make([]incident.Alert, len(m.Alerts))}
	for i, a := range m.Alerts {
		d.Alerts[i] = incident.Alert{
			Fingerprint: a.Fingerprint, Status: incident.AlertStatus(a.Status),
			Labels: nonNil(a.Labels), Annotations: nonNil(a.Annotations),
			StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(), GeneratorURL: a.GeneratorURL,
			Values: a.Values, Source: source,
		}
		if a.EndsAt.IsZero() {
			d.Alerts[i].EndsAt = time.Time{}
		}
	}
	return d
}

// list makes a nil slice encode as [] rather than null.
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
