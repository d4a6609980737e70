package correlate

import (
	"net/url"
	"regexp"
	"strings"
)

// thresholdSuffix matches an alerting expression's final comparison with
// a number ("… > 0.008"): without it the expression gives the value itself,
// also when it is back under the threshold.
var thresholdSuffix = regexp.MustCompile(`^(.+?)\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?[-+]?[0-9][0-9.eE+-]*\s*$`)

// ExprFromGeneratorURL extracts the expression from an alert's
// generatorURL (Prometheus's /graph?g0.expr=… or /query?g0.expr=…),
// without its threshold comparison.
func ExprFromGeneratorURL(generatorURL string) (string, bool) {
	u, err := url.Parse(generatorURL)
	if err != nil || generatorURL == "" {
		return "", false
	}
	expr := strings.TrimSpace(u.Query().Get("g0.expr"))
	if expr == "" {
		return "", false
	}
	if m := thresholdSuffix.FindStringSubmatch(expr); m != nil {
		expr = strings.TrimSpace(m[1])
	}
	return expr, true
}
