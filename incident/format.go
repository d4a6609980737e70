package incident

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// title names an incident after the alert that opened it (or made it a
// war room): the alert's summary, unless the summary names one member of
// the incident. An incident is its key's (service and env by default),
// and the alerts of its other members attach to it, so a summary that
// names the value of a label outside the key (a pod, an instance) speaks
// for one member only. A member named after the service, as Kubernetes
// names pods (search-0 of search), gives way to the service; a summary
// naming any other member gives way to "<alertname> on <service>".
func title(a *Alert, dec Decision) string {
	name, summary := a.Labels["alertname"], a.Annotations["summary"]
	if dec.Service == "" {
		return cmp.Or(summary, name)
	}
	if summary == "" {
		return name + " on " + dec.Service
	}
	for _, l := range slices.Sorted(maps.Keys(a.Labels)) {
		v := a.Labels[l]
		if l == "alertname" || inKey(dec.Key, l) || v == dec.Service || v == dec.Env || len(v) < 3 ||
			strings.Trim(v, "0123456789") == "" || !hasToken(summary, v) {
			continue
		}
		if rest, ok := strings.CutPrefix(v, dec.Service); ok && rest != "" && strings.ContainsRune("-_.", rune(rest[0])) {
			summary = replaceToken(summary, v, dec.Service)
			continue
		}
		return name + " on " + dec.Service
	}
	return summary
}

// inKey reports whether the label is one of the incident key's, which
// renders as "rule/label=value,label=value".
func inKey(key, label string) bool {
	_, pairs, _ := strings.Cut(key, "/")
	return strings.HasPrefix(pairs, label+"=") || strings.Contains(pairs, ","+label+"=")
}

// isWordByte is what a name is made of: a token of text is bounded by
// anything else.
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// tokenAt reports whether word stands at s[i:] as a token of its own.
func tokenAt(s, word string, i int) bool {
	end := i + len(word)
	return (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end]))
}

func hasToken(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.HasPrefix(s[i:], word) && tokenAt(s, word, i) {
			return true
		}
	}
	return false
}

// replaceToken replaces word where it stands as a token of its own.
func replaceToken(s, word, with string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], word) && tokenAt(s, word, i) {
			b.WriteString(with)
			i += len(word)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func alertText(a *Alert, unit Unit) string {
	s := a.Labels["alertname"]
	if pod := a.Labels["pod"]; pod != "" {
		s += " " + pod
	}
	s += " (" + a.Fingerprint + ")"
	if a.Value != nil {
		s += " at " + unit.Format(*a.Value)
	}
	return s
}

func describe(a *Alert, dec Decision) string {
	if dec.Reason != "" {
		return a.Labels["alertname"] + " " + dec.Reason
	}
	return alertText(a, dec.Unit)
}
