package correlate

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// thresholdSuffix matches an alerting expression's final comparison with
// a number ("… > 0.008"): without it the expression gives the value itself,
// also when it is back under the threshold.
var thresholdSuffix = regexp.MustCompile(`^(.+?)\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?[-+]?[0-9][0-9.eE+-]*\s*$`)

// ExprFromGeneratorURL extracts the expression from an alert's
// generatorURL: Prometheus links a rule to /graph?g0.expr=<expr>&g0.tab=1
// (Prometheus 3's UI also serves /query?g0.expr=…), under its external
// URL's path. The threshold comparison is cut off. ok is false when the URL
// holds no expression. The URL is the alert's: what it holds is untrusted.
func ExprFromGeneratorURL(generatorURL string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(generatorURL))
	if err != nil {
		return "", false
	}
	switch path.Base(u.Path) {
	case "graph", "query":
	default:
		return "", false
	}
	// ParseQuery keeps the pairs it can read when another one is malformed.
	q, _ := url.ParseQuery(u.RawQuery)
	expr := strings.TrimSpace(q.Get("g0.expr"))
	if expr == "" {
		return "", false
	}
	return withoutThreshold(expr), true
}

// withoutThreshold cuts an expression's final comparison with a number.
func withoutThreshold(expr string) string {
	if m := thresholdSuffix.FindStringSubmatch(expr); m != nil {
		return strings.TrimSpace(m[1])
	}
	return expr
}

// sameQuery reports whether two expressions are the same, spaces and the
// threshold comparison aside.
func sameQuery(a, b string) bool {
	norm := func(s string) string {
		return strings.Join(strings.Fields(withoutThreshold(strings.TrimSpace(s))), " ")
	}
	return norm(a) == norm(b)
}
