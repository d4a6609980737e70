package rules

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
)

// Threshold is the limit a value is compared with. In YAML it is written
// as a number (0.008), a string ("0.8%" or "0.008"), or a map with one key,
// above or below ({above: "0.8%"}, {below: 0.5}); the plain forms mean above.
type Threshold struct {
	// Value is the limit as a ratio: 0.008 is 0.8%.
	Value float64
	// Below makes the rule fire when the value is under the limit, e.g.
	// for an availability ratio; by default it fires above.
	Below bool
}

// ParseThreshold parses the scalar forms of a threshold: "0.008", "0.8%".
// The result fires above the limit.
func ParseThreshold(s string) (Threshold, error) {
	v, err := ParseValue(s)
	if err != nil {
		return Threshold{}, err
	}
	return Threshold{Value: v}, nil
}

// Exceeded reports whether v is beyond the threshold: strictly above it, or
// strictly below it for a Below threshold.
func (t Threshold) Exceeded(v float64) bool {
	if t.Below {
		return v < t.Value
	}
	return v > t.Value
}

// String renders the threshold as responders read it: "above 0.8%".
func (t Threshold) String() string {
	return t.direction() + " " + incident.FormatValue(t.Value)
}

func (t Threshold) direction() string {
	if t.Below {
		return "below"
	}
	return "above"
}

func (t Threshold) validate() error {
	if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		return fmt.Errorf("%v is not a finite number", t.Value)
	}
	return nil
}

// UnmarshalYAML accepts the forms documented on Threshold. Errors are
// reported as *yaml.TypeError with the line, so that the decoder goes on and
// reports every problem of the file at once.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	bad := func(format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad threshold: ", n.Line) + fmt.Sprintf(format, args...)}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		th, err := ParseThreshold(n.Value)
		if err != nil {
			return bad("%v (want a ratio like 0.008 or a percentage like \"0.8%%\")", err)
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
			return bad("%s wants a number or a percentage", key.Value)
		}
		th, err := ParseThreshold(val.Value)
		if err != nil {
			return bad("%s: %v (want a ratio like 0.008 or a percentage like \"0.8%%\")", key.Value, err)
		}
		th.Below = below
		*t = th
		return nil
	}
	return bad("want a number, a percentage or {above|below: …}")
}

// MarshalYAML writes the threshold in a form UnmarshalYAML reads back.
func (t Threshold) MarshalYAML() (any, error) {
	if t.Below {
		return map[string]float64{"below": t.Value}, nil
	}
	return t.Value, nil
}

// MarshalJSON writes {"above": 0.008} or {"below": 0.5}.
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
