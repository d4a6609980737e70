package incident

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// Tracing (docs/DECISIONS.md, D14): a webhook's trace goes on through the
// jobs it causes, however late and on whichever replica they run. A job
// carries the W3C traceparent of the span that enqueued it; its run is a
// span of that trace, and so are the outside calls the run makes and the
// jobs that follow it. With tracing off there is no span in any context,
// nothing is stored and nothing is started.

// TraceParent returns the W3C traceparent of the span in ctx
// ("00-<trace id>-<span id>-<flags>"), or "" when ctx holds none.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	for _, c := range tid {
		b = append(b, hex[c>>4], hex[c&15])
	}
	b = append(b, '-')
	for _, c := range sid {
		b = append(b, hex[c>>4], hex[c&15])
	}
	f := byte(sc.TraceFlags())
	b = append(b, '-', hex[f>>4], hex[f&15])
	return string(b)
}

// RemoteParent returns ctx with the span context tp names as its remote
// parent; ctx itself when tp is empty or not a version-00 traceparent.
func RemoteParent(ctx context.Context, tp string) context.Context {
	if len(tp) != 55 || tp[:3] != "00-" || tp[35] != '-' || tp[52] != '-' {
		return ctx
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !unhex(tid[:], tp[3:35]) || !unhex(sid[:], tp[36:52]) || !unhex(flags[:], tp[53:55]) {
		return ctx
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags[0]), Remote: true})
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// unhex decodes lower-case hex s into dst, len(s) == 2*len(dst).
func unhex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
