package incident

import (
	"math"
	"strconv"
	"strings"
)

// FormatValue renders a ratio the way responders read it: 0.03107 → "3.11%",
// 0.008 → "0.8%". It is total over float64: NaN and ±Inf (which Prometheus
// may return) show as Prometheus writes them ("NaN", "+Inf", "-Inf"), and a
// finite ratio too large for a readable percentage shows as the ratio
// itself in exponent form ("1e+308"), never as a percentage that
// overflowed to "+Inf%" or as hundreds of digits.
func FormatValue(v float64) string {
	if s, ok := formatOdd(v, 3); ok {
		return s
	}
	s := strconv.FormatFloat(v*100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" { // a tiny negative ratio rounds to zero, unsigned
		s = "0"
	}
	return s + "%"
}

// FormatValuePrecise is FormatValue with six significant digits, for two
// values that FormatValue would make look equal.
func FormatValuePrecise(v float64) string {
	if s, ok := formatOdd(v, 6); ok {
		return s
	}
	return strconv.FormatFloat(v*100, 'g', 6, 64) + "%"
}

// maxPercentRatio bounds the ratios shown as a percentage: 1e6 is
// "100000000%", already beyond any error rate; far beyond it v*100
// overflows float64 for a finite v.
const maxPercentRatio = 1e6

// formatOdd renders the values a percentage cannot show: NaN, the
// infinities and huge ratios, with digits significant digits.
func formatOdd(v float64, digits int) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "NaN", true
	case math.IsInf(v, 1):
		return "+Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	case math.Abs(v) >= maxPercentRatio:
		return strconv.FormatFloat(v, 'g', digits, 64), true
	}
	return "", false
}

func title(a *Alert, dec Decision) string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	name := a.Labels["alertname"]
	if dec.Service != "" {
		return name + " on " + dec.Service
	}
	return name
}

func alertText(a *Alert) string {
	s := a.Labels["alertname"]
	if pod := a.Labels["pod"]; pod != "" {
		s += " " + pod
	}
	s += " (" + a.Fingerprint + ")"
	if a.Value != nil {
		s += " at " + FormatValue(*a.Value)
	}
	return s
}

func describe(a *Alert, dec Decision) string {
	if dec.Reason != "" {
		return a.Labels["alertname"] + " " + dec.Reason
	}
	return alertText(a)
}
