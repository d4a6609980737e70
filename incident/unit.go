package incident

import (
	"math"
	"strconv"
	"strings"
)

// Unit is what an incident's numbers measure, and so how they read: a
// ratio shows as a percentage ("3.11%"), seconds as a duration ("750 ms"),
// a count as a number of things ("63 failures"). Every value and threshold
// shown to people goes through Unit.Format. The zero Unit is a ratio, so
// that incidents stored before units existed read as they did.
//
// A count may name what it counts: "count:failure" (see CountOf).
type Unit string

// The units of a rule's value.
const (
	UnitRatio   Unit = "ratio"
	UnitSeconds Unit = "seconds"
	UnitCount   Unit = "count"
)

// CountOf is the unit of a count of noun (singular, e.g. "failure"); an
// empty noun is a bare count.
func CountOf(noun string) Unit {
	if noun == "" {
		return UnitCount
	}
	return UnitCount + ":" + Unit(noun)
}

// Kind is the unit without the noun of a count: ratio, seconds or count.
func (u Unit) Kind() Unit {
	switch {
	case u == "":
		return UnitRatio
	case strings.HasPrefix(string(u), string(UnitCount)+":"):
		return UnitCount
	}
	return u
}

// Noun is what a count counts, "" for none and for the other units.
func (u Unit) Noun() string {
	_, noun, _ := strings.Cut(string(u), ":")
	return noun
}

// Format renders v in the unit, the way responders read it: 0.03107 →
// "3.11%", 0.75 s → "750 ms", 63 failures → "63 failures". It is total over
// float64: NaN and ±Inf (which Prometheus may return) show as Prometheus
// writes them ("NaN", "+Inf", "-Inf"), and a finite value too large for
// its unit's form shows as the number itself in exponent form ("1e+308").
func (u Unit) Format(v float64) string { return u.format(v, false) }

// FormatPrecise is Format with six significant digits, for two values
// that Format would make look equal.
func (u Unit) FormatPrecise(v float64) string { return u.format(v, true) }

func (u Unit) format(v float64, precise bool) string {
	digits := 3
	if precise {
		digits = 6
	}
	if s, ok := formatOdd(v, digits); ok {
		return s
	}
	switch u.Kind() {
	case UnitSeconds:
		return formatSeconds(v, precise)
	case UnitCount:
		return formatCount(v, u.Noun(), precise)
	}
	if precise {
		return strconv.FormatFloat(v*100, 'g', 6, 64) + "%"
	}
	return fixed(v*100, 2) + "%"
}

// maxPlainValue bounds the values shown in their unit's form: a ratio of
// 1e6 is "100000000%", already beyond any error rate; far beyond it v*100
// overflows float64 for a finite v, and a duration or a count shows
// hundreds of digits.
const maxPlainValue = 1e6

// formatOdd renders the values a unit cannot show: NaN, the infinities and
// huge values, with digits significant digits.
func formatOdd(v float64, digits int) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "NaN", true
	case math.IsInf(v, 1):
		return "+Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	case math.Abs(v) >= maxPlainValue:
		return strconv.FormatFloat(v, 'g', digits, 64), true
	}
	return "", false
}

// fixed renders v with at most decimals decimals, trailing zeros cut.
func fixed(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" { // a tiny negative value rounds to zero, unsigned
		s = "0"
	}
	return s
}

// formatSeconds picks the largest of ms, s, min and h that keeps the
// number at 1 or more: 0.75 → "750 ms", 90 → "1.5 min".
func formatSeconds(v float64, precise bool) string {
	n, name := v*1000, "ms"
	switch a := math.Abs(v); {
	case a >= 3600:
		n, name = v/3600, "h"
	case a >= 60:
		n, name = v/60, "min"
	case a >= 1:
		n, name = v, "s"
	}
	if precise {
		return strconv.FormatFloat(n, 'g', 6, 64) + " " + name
	}
	return fixed(n, 2) + " " + name
}

func formatCount(v float64, noun string, precise bool) string {
	s := fixed(v, 2)
	if precise {
		s = strconv.FormatFloat(v, 'g', 6, 64)
	}
	if noun == "" {
		return s
	}
	one, many, irregular := strings.Cut(noun, "/")
	if v == 1 {
		return s + " " + one
	}
	if !irregular {
		many = plural(noun)
	}
	return s + " " + many
}

// plural is the English plural of a singular noun by the usual rules (a
// noun written "singular/plural", "person/people", names its own).
func plural(noun string) string {
	lower := strings.ToLower(noun)
	switch {
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"):
		return noun + "es"
	case strings.HasSuffix(lower, "y") && len(lower) > 1 && !strings.ContainsRune("aeiou", rune(lower[len(lower)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}
