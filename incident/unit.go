package incident

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Unit is what an incident's numbers measure, and so how they read: a
// ratio shows as a percentage ("3.11%"), seconds as a duration ("750 ms"),
// a count as a number of things ("63 failures"). Every value and threshold
// shown to people goes through Unit.Format. The zero Unit is a ratio, so
// that incidents stored before units existed read as they did.
//
// A count may name what it counts: "count:failure" (see CountOf). A unit
// may also carry the name of what is measured, "seconds;name=P99 latency"
// (see Named), and the window a count is counted over,
// "count:auth failure;window=10m0s" (see Over): the headline then reads
// "P99 latency 1.8 s", "63 auth failures in 10 min". The unit is stored as
// this one string, so incidents keep their wording across configuration
// changes.
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

// The keys of a unit's parts after its base ("seconds;name=P99 latency").
const (
	unitSep       = ";"
	unitNameKey   = "name="
	unitWindowKey = "window="
)

// Named returns u with the name of what it measures, e.g. "P99 latency";
// an empty name leaves u as it is. The name must not contain ";".
func (u Unit) Named(name string) Unit {
	if name == "" {
		return u
	}
	return u + unitSep + unitNameKey + Unit(name)
}

// Over returns u with the window its values are counted over, e.g. 10
// minutes for "63 auth failures in 10 min"; zero leaves u as it is.
func (u Unit) Over(window time.Duration) Unit {
	if window <= 0 {
		return u
	}
	return u + unitSep + unitWindowKey + Unit(window.String())
}

// base is the unit without its name and window: "count:failure".
func (u Unit) base() Unit {
	b, _, _ := strings.Cut(string(u), unitSep)
	return Unit(b)
}

// part is the value of the part of u after key, "" when u has none.
func (u Unit) part(key string) string {
	parts := strings.Split(string(u), unitSep)
	for _, p := range parts[1:] {
		if v, ok := strings.CutPrefix(p, key); ok {
			return v
		}
	}
	return ""
}

// Name is the name of what is measured ("P99 latency"), "" when the
// unit names none.
func (u Unit) Name() string { return u.part(unitNameKey) }

// Window is the window a count is counted over, 0 when the unit has none.
func (u Unit) Window() time.Duration {
	d, err := time.ParseDuration(u.part(unitWindowKey))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// Kind is the unit without the noun of a count, its name and window:
// ratio, seconds or count.
func (u Unit) Kind() Unit {
	switch b := u.base(); {
	case b == "":
		return UnitRatio
	case strings.HasPrefix(string(b), string(UnitCount)+":"):
		return UnitCount
	default:
		return b
	}
}

// Noun is what a count counts, "" for none and for the other units.
func (u Unit) Noun() string {
	_, noun, _ := strings.Cut(string(u.base()), ":")
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

// Measure renders v as a headline reads it: the name of what is measured,
// the value, and the window of a count: "P99 latency 1.8 s", "63 auth
// failures in 10 min"; without a name or window it is Format.
func (u Unit) Measure(v float64) string { return u.measure(u.Format(v)) }

// MeasurePrecise is Measure with FormatPrecise's digits.
func (u Unit) MeasurePrecise(v float64) string { return u.measure(u.FormatPrecise(v)) }

func (u Unit) measure(value string) string {
	if name := u.Name(); name != "" {
		value = name + " " + value
	}
	if w := u.Window(); w > 0 {
		value += " in " + UnitSeconds.Format(w.Seconds())
	}
	return value
}

// Limit renders a threshold beside a Measure of the same unit: as Format,
// but a count without its noun, which the value beside it says already:
// "63 auth failures in 10 min vs 50".
func (u Unit) Limit(v float64) string {
	if u.Kind() == UnitCount {
		return UnitCount.Format(v)
	}
	return u.Format(v)
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
