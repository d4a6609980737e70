package rules

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
)

// Threshold is the limit a value is compared with, in the unit of the
// rule's value (value.unit). In YAML it is written as a number (0.008), a
// string ("0.8%", "0.008", or for seconds a duration such as "500ms"), or a
// map with one key, above or below ({above: "0.8%"}, {below: 0.5}); the
// plain forms mean above.
type Threshold struct {
	// Value is the limit in the value's unit: a ratio (0.008 is 0.8%),
	// seconds or a count.
	Value float64
	// Below makes the rule fire when the value is under the limit, e.g.
	// for an availability ratio; by default it fires above.
	Below bool

	// text is the limit as the config wrote it, "" when built in Go: New
	// checks its form against the unit ("0.8" for a ratio is 80%).
	text string
}

// ParseThreshold parses the scalar forms of a threshold: "0.008", "0.8%",
// "500ms" (seconds). The result fires above the limit.
func ParseThreshold(s string) (Threshold, error) {
	v, err := ParseValue(s)
	if err != nil {
		d, derr := time.ParseDuration(strings.TrimSpace(s))
		if derr != nil {
			return Threshold{}, err
		}
		v = d.Seconds()
	}
	return Threshold{Value: v, text: strings.TrimSpace(s)}, nil
}

// Exceeded reports whether v is beyond the threshold: strictly above it, or
// strictly below it for a Below threshold.
func (t Threshold) Exceeded(v float64) bool {
	if t.Below {
		return v < t.Value
	}
	return v > t.Value
}

// String renders the threshold as responders read it: "above 0.8%" (a
// ratio; see Format for the other units).
func (t Threshold) String() string { return t.Format(incident.UnitRatio) }

// Format renders the threshold in unit: "above 0.8%", "below 750 ms".
func (t Threshold) Format(unit incident.Unit) string {
	return t.direction() + " " + unit.Format(t.Value)
}

func (t Threshold) direction() string {
	if t.Below {
		return "below"
	}
	return "above"
}

// maxBareRatio is the largest ratio a threshold may write as a bare
// number: "0.8" is 80%, almost surely meant as "0.8%".
const maxBareRatio = 0.1

// validate checks the threshold against the unit of its rule's value.
func (t Threshold) validate(unit incident.Unit) error {
	if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		return fmt.Errorf("%v is not a finite number", t.Value)
	}
	written := t.text
	if written == "" {
		written = strconv.FormatFloat(t.Value, 'g', -1, 64)
	}
	if t.Value < 0 {
		return fmt.Errorf("%s is negative", written)
	}
	percent := strings.HasSuffix(t.text, "%")
	duration := t.text != "" && !percent && !isNumber(t.text)
	switch unit.Kind() {
	case incident.UnitRatio:
		if duration {
			return fmt.Errorf("%s is a duration, but value.unit is ratio (set value.unit: seconds)", written)
		}
		if t.text != "" && !percent && t.Value > maxBareRatio {
			return fmt.Errorf("%s is a ratio of %s: did you mean \"%s%%\"? (a rule meaning %s writes \"%s\")",
				written, incident.UnitRatio.Format(t.Value), written, incident.UnitRatio.Format(t.Value), incident.UnitRatio.Format(t.Value))
		}
	case incident.UnitSeconds:
		if percent {
			return fmt.Errorf("%s is a percentage, but value.unit is seconds (write a duration such as \"500ms\")", written)
		}
	case incident.UnitCount:
		if percent || duration {
			return fmt.Errorf("%s is not a number, but value.unit is count", written)
		}
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// thresholdForms names the forms a threshold may take, for its errors.
const thresholdForms = `want a number, a percentage like "0.8%" or a duration like "500ms"`

// UnmarshalYAML accepts the forms documented on Threshold. Errors are
// reported as *yaml.TypeError with the line, so that the decoder goes on and
// reports every problem of the file at once. Whether the form fits the
// rule's unit is New's to say.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	bad := func(format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad threshold: ", n.Line) + fmt.Sprintf(format, args...)}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		th, err := ParseThreshold(n.Value)
		if err != nil {
			return bad("%v (%s)", err, thresholdForms)
		}
		*t = th
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return bad("want exactly one of above or below, e.g. {above: \"0.8%%\"}")
		}
		key, val := n.Content[0], n.Content[1]
		var below bool
		switch key.Value {
		case "above":
		case "below":
			below = true
		default:
			return bad("unknown key %q (valid: above, below)", key.Value)
		}
		if val.Kind != yaml.ScalarNode {
			return bad("%s wants a number, a percentage or a duration", key.Value)
		}
		th, err := ParseThreshold(val.Value)
		if err != nil {
			return bad("%s: %v (%s)", key.Value, err, thresholdForms)
		}
		th.Below = below
		*t = th
		return nil
	}
	return bad("want a number, a percentage, a duration or {above|below: …}")
}

// MarshalYAML writes the threshold in a form UnmarshalYAML reads back: as
// the config wrote it, else the number.
func (t Threshold) MarshalYAML() (any, error) {
	var v any = t.Value
	if t.text != "" {
		v = t.text
	}
	if t.Below {
		return map[string]any{"below": v}, nil
	}
	return v, nil
}

// MarshalJSON writes {"above": 0.008} or {"below": 0.5}, in the unit of
// the rule's value.
func (t Threshold) MarshalJSON() ([]byte, error) {
	return []byte(`{"` + t.direction() + `":` + strconv.FormatFloat(t.Value, 'g', -1, 64) + `}`), nil
}

var errNotFinite = errors.New("not a finite number")

// ParseValue parses a number as alerts and configs write it: a ratio
// ("0.031") or a percentage ("3.1%", which is 0.031). Surrounding space is
// ignored; NaN and infinities are rejected, because no threshold can judge
// them.
func ParseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, percent := strings.CutSuffix(s, "%")
	num = strings.TrimSpace(num)
	if num == "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if percent && !strings.ContainsAny(num, "eExXpP") {
		// Shift the decimal point in the text rather than divide by
		// 100, so that "0.8%" is exactly the float 0.008.
		num += "e-2"
		percent = false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q: %w", s, errNotFinite)
	}
	if percent {
		v /= 100
	}
	return v, nil
}

// ParseValueIn parses an alert's number in unit: a ratio as ParseValue
// does, seconds as a number or a duration ("750ms"), a count as a number.
func ParseValueIn(unit incident.Unit, s string) (float64, error) {
	switch unit.Kind() {
	case incident.UnitSeconds:
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d.Seconds(), nil
		}
		if strings.HasSuffix(strings.TrimSpace(s), "%") {
			return 0, fmt.Errorf("%q is a percentage, not seconds", s)
		}
	case incident.UnitCount:
		if strings.HasSuffix(strings.TrimSpace(s), "%") {
			return 0, fmt.Errorf("%q is a percentage, not a count", s)
		}
	}
	return ParseValue(s)
}
