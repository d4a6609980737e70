package amtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// Handlers of the four operations. They run with s.mu held.

// Alertmanager 0.25's wording of its refusals, as the binary answers them.
const (
	msgStartAfterEnd = "Failed to create silence: start time must be before end time"
	msgEndInPast     = "Failed to create silence: end time can't be in the past"
	msgNotFound      = "silence not found"
	msgAllMatchEmpty = "silence invalid: at least one matcher must not match the empty string"
)

// labelName is the classic label name syntax Alertmanager's silences take
// (model.LabelNameRE).
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// uuidRE is go-openapi's "uuid" format, which the {silenceID} path
// parameter has.
var uuidRE = regexp.MustCompile(`(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)

// Wire shapes of api/v2/openapi.yaml. Pointers tell a missing field from a
// zero one, as go-swagger's required checks do.
type wireMatcher struct {
	Name    *string `json:"name"`
	Value   *string `json:"value"`
	IsRegex *bool   `json:"isRegex"`
	IsEqual *bool   `json:"isEqual,omitempty"`
}

type postableSilence struct {
	ID        string         `json:"id"`
	Matchers  *[]wireMatcher `json:"matchers"`
	StartsAt  *dateTime      `json:"startsAt"`
	EndsAt    *dateTime      `json:"endsAt"`
	CreatedBy *string        `json:"createdBy"`
	Comment   *string        `json:"comment"`
}

type gettableMatcher struct {
	IsEqual bool   `json:"isEqual"`
	IsRegex bool   `json:"isRegex"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

type gettableSilence struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	UpdatedAt string            `json:"updatedAt"`
	Comment   string            `json:"comment"`
	CreatedBy string            `json:"createdBy"`
	EndsAt    string            `json:"endsAt"`
	Matchers  []gettableMatcher `json:"matchers"`
	StartsAt  string            `json:"startsAt"`
}

// dateTime parses a date-time the way go-openapi's strfmt.DateTime does
// (RFC 3339, with or without fractions).
type dateTime struct{ time.Time }

func (d *dateTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			d.Time = t
			return nil
		}
	}
	return fmt.Errorf("parsing time %q: not an RFC 3339 date-time", s)
}

// formatTime writes times as go-openapi does: UTC, milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func (s *Server) postSilences(r *http.Request, body []byte) answer {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		return answer{http.StatusUnsupportedMediaType, swaggerError{http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported media type %q, only [application/json] are allowed", ct)}}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return answer{http.StatusUnprocessableEntity, swaggerError{codeRequired, "silence in body is required"}}
	}
	var in postableSilence
	if err := json.Unmarshal(body, &in); err != nil {
		return answer{http.StatusBadRequest, swaggerError{http.StatusBadRequest,
			fmt.Sprintf("parsing silence body from \"\" failed, because %v", err)}}
	}
	if res := validateRequired(&in); res != nil {
		return *res
	}

	now := s.now()
	startsAt, endsAt := in.StartsAt.UTC(), in.EndsAt.UTC()
	if !startsAt.Before(endsAt) {
		return answer{http.StatusBadRequest, msgStartAfterEnd}
	}
	if endsAt.Before(now) {
		return answer{http.StatusBadRequest, msgEndInPast}
	}
	matchers := make([]Matcher, 0, len(*in.Matchers))
	for _, m := range *in.Matchers {
		matchers = append(matchers, Matcher{Name: *m.Name, Value: *m.Value, IsRegex: *m.IsRegex, IsEqual: m.IsEqual == nil || *m.IsEqual})
	}
	if err := validateMatchers(matchers); err != nil {
		return answer{http.StatusBadRequest, "silence invalid: " + err.Error()}
	}
	sil := &Silence{
		ID:        in.ID,
		Matchers:  matchers,
		StartsAt:  startsAt,
		EndsAt:    endsAt,
		UpdatedAt: now.UTC(),
		CreatedBy: *in.CreatedBy,
		Comment:   *in.Comment,
	}
	if startsAt.IsZero() {
		sil.StartsAt = now.UTC()
	}
	id, err := s.set(sil, now)
	if err != nil {
		return answer{http.StatusNotFound, err.Error()}
	}
	return answer{http.StatusOK, map[string]string{"silenceID": id}}
}

// validateRequired does go-swagger's checks of a postable silence, in the
// generated code's order (fields alphabetically). Alertmanager answers only
// the first failure, as this does.
func validateRequired(in *postableSilence) *answer {
	var errs []swaggerError
	required := func(name string, present bool) {
		if !present {
			errs = append(errs, swaggerError{codeRequired, name + " in body is required"})
		}
	}
	required("comment", in.Comment != nil)
	required("createdBy", in.CreatedBy != nil)
	required("endsAt", in.EndsAt != nil)
	required("matchers", in.Matchers != nil)
	if in.Matchers != nil {
		if len(*in.Matchers) == 0 {
			errs = append(errs, swaggerError{codeTooFewItems, "matchers in body should have at least 1 items"})
		}
		for i, m := range *in.Matchers {
			p := "matchers." + strconv.Itoa(i) + "."
			required(p+"isRegex", m.IsRegex != nil)
			required(p+"name", m.Name != nil)
			required(p+"value", m.Value != nil)
		}
	}
	required("startsAt", in.StartsAt != nil)
	if len(errs) == 0 {
		return nil
	}
	return &answer{http.StatusUnprocessableEntity, errs[0]}
}

// validateMatchers is Alertmanager's validateSilence for the matchers.
func validateMatchers(ms []Matcher) error {
	if len(ms) == 0 {
		return errors.New("at least one matcher required")
	}
	allMatchEmpty := true
	for i, m := range ms {
		if !labelName.MatchString(m.Name) {
			return fmt.Errorf("invalid label matcher %d: invalid label name %q", i, m.Name)
		}
		if m.IsRegex {
			if _, err := regexp.Compile(m.Value); err != nil {
				return fmt.Errorf("invalid label matcher %d: invalid regular expression %q: %w", i, m.Value, err)
			}
		}
		allMatchEmpty = allMatchEmpty && matchesEmpty(m)
	}
	if allMatchEmpty {
		return errors.New("at least one matcher must not match the empty string")
	}
	return nil
}

// matchesEmpty is Alertmanager's: only = and =~ matchers count, and a
// regular expression is tried unanchored against "".
func matchesEmpty(m Matcher) bool {
	switch {
	case m.IsEqual && !m.IsRegex:
		return m.Value == ""
	case m.IsEqual:
		ok, _ := regexp.MatchString(m.Value, "")
		return ok
	}
	return false
}

// set is Alertmanager's Silences.Set: a silence without an ID is new; one
// with an ID updates that silence in place when the change leaves its
// history alone (same matchers; an active one keeps its start and ends in
// the future; a pending one starts in the future), and otherwise replaces
// it, expiring the old one.
func (s *Server) set(sil *Silence, now time.Time) (string, error) {
	s.gc()
	var prev *Silence
	if sil.ID != "" {
		if prev = s.byID(sil.ID); prev == nil {
			return "", errors.New(msgNotFound)
		}
		if canUpdate(prev, sil, now) {
			prev.Matchers, prev.StartsAt, prev.EndsAt = sil.Matchers, sil.StartsAt, sil.EndsAt
			prev.CreatedBy, prev.Comment, prev.UpdatedAt = sil.CreatedBy, sil.Comment, now.UTC()
			return prev.ID, nil
		}
	}
	sil.ID = newUUID()
	if sil.StartsAt.Before(now) {
		sil.StartsAt = now.UTC()
	}
	if prev != nil && stateAt(prev, now) != StateExpired {
		expire(prev, now)
	}
	s.silences = append(s.silences, sil)
	return sil.ID, nil
}

func canUpdate(a, b *Silence, now time.Time) bool {
	if !slices.Equal(a.Matchers, b.Matchers) {
		return false
	}
	switch stateAt(a, now) {
	case StateActive:
		return a.StartsAt.Unix() == b.StartsAt.Unix() && !b.EndsAt.Before(now)
	case StatePending:
		return !b.StartsAt.Before(now)
	}
	return false
}

func (s *Server) getSilences(q url.Values) answer {
	var filter []*labels.Matcher
	for _, f := range q["filter"] {
		m, err := labels.ParseMatcher(f)
		if err != nil {
			return answer{http.StatusBadRequest, err.Error()}
		}
		filter = append(filter, m)
	}
	include := map[string]bool{}
	for _, state := range []string{StateActive, StateExpired, StatePending} {
		v := q.Get(state)
		if v == "" {
			include[state] = true
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return answer{http.StatusUnprocessableEntity, swaggerError{codeInvalidType,
				fmt.Sprintf("%s in query must be of type boolean: %q", state, v)}}
		}
		include[state] = b
	}

	now := s.gc()
	var list []*Silence
	for _, sil := range s.silences {
		if include[stateAt(sil, now)] && hasMatchers(sil, filter) {
			list = append(list, sil)
		}
	}
	sortSilences(list, now)
	out := make([]gettableSilence, 0, len(list))
	for _, sil := range list {
		out = append(out, gettable(sil, now))
	}
	return answer{http.StatusOK, out}
}

// hasMatchers reports whether the silence has, for every filter matcher, a
// matcher of the same name, type and value: Alertmanager's filter looks at
// the silence's matchers, not at labels they would match.
func hasMatchers(sil *Silence, filter []*labels.Matcher) bool {
	for _, f := range filter {
		found := false
		for _, m := range sil.Matchers {
			if m.Name == f.Name && m.Value == f.Value && matchType(m) == f.Type {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func matchType(m Matcher) labels.MatchType {
	switch {
	case m.IsEqual && m.IsRegex:
		return labels.MatchRegexp
	case m.IsEqual:
		return labels.MatchEqual
	case m.IsRegex:
		return labels.MatchNotRegexp
	}
	return labels.MatchNotEqual
}

// sortSilences orders silences as Alertmanager's SortSilences does: active
// ones first, soonest to end first; then pending ones, soonest to start
// first; then expired ones, latest to end first. Ties keep creation order.
func sortSilences(list []*Silence, now time.Time) {
	rank := map[string]int{StateActive: 1, StatePending: 2, StateExpired: 3}
	sort.SliceStable(list, func(i, j int) bool {
		si, sj := stateAt(list[i], now), stateAt(list[j], now)
		if si != sj {
			return rank[si] < rank[sj]
		}
		switch si {
		case StateActive:
			return list[i].EndsAt.Before(list[j].EndsAt)
		case StatePending:
			return list[i].StartsAt.Before(list[j].StartsAt)
		}
		return list[i].EndsAt.After(list[j].EndsAt)
	})
}

func (s *Server) getSilence(id string) answer {
	if !uuidRE.MatchString(id) {
		return badSilenceID(id)
	}
	now := s.gc()
	sil := s.byID(id)
	if sil == nil {
		return answer{http.StatusNotFound, nil}
	}
	return answer{http.StatusOK, gettable(sil, now)}
}

func (s *Server) deleteSilence(id string) answer {
	if !uuidRE.MatchString(id) {
		return badSilenceID(id)
	}
	now := s.gc()
	sil := s.byID(id)
	if sil == nil {
		// 0.35 and the spec; 0.25 answered 500 "silence not found".
		return answer{http.StatusNotFound, nil}
	}
	if stateAt(sil, now) != StateExpired {
		expire(sil, now)
	}
	return answer{http.StatusOK, nil}
}

func badSilenceID(id string) answer {
	return answer{http.StatusUnprocessableEntity, swaggerError{codeInvalidType,
		fmt.Sprintf("silenceID in path must be of type uuid: %q", id)}}
}

// expire ends a silence now; a pending one gets a start of now too.
func expire(sil *Silence, now time.Time) {
	now = now.UTC()
	if stateAt(sil, now) == StatePending {
		sil.StartsAt = now
	}
	sil.EndsAt = now
	sil.UpdatedAt = now
}

// stateAt is Alertmanager's StateAt: the start inclusive, the end exclusive.
func stateAt(sil *Silence, now time.Time) string {
	switch {
	case now.Before(sil.StartsAt):
		return StatePending
	case now.Before(sil.EndsAt):
		return StateActive
	}
	return StateExpired
}

// gc forgets silences that ended longer than the retention ago, as
// Alertmanager's maintenance does, and returns the time it used.
func (s *Server) gc() time.Time {
	now := s.now()
	s.silences = slices.DeleteFunc(s.silences, func(sil *Silence) bool {
		return sil.EndsAt.Add(s.retention).Before(now)
	})
	return now
}

func (s *Server) byID(id string) *Silence {
	for _, sil := range s.silences {
		if sil.ID == id {
			return sil
		}
	}
	return nil
}

func gettable(sil *Silence, now time.Time) gettableSilence {
	g := gettableSilence{
		ID:        sil.ID,
		UpdatedAt: formatTime(sil.UpdatedAt),
		Comment:   sil.Comment,
		CreatedBy: sil.CreatedBy,
		EndsAt:    formatTime(sil.EndsAt),
		StartsAt:  formatTime(sil.StartsAt),
		Matchers:  make([]gettableMatcher, 0, len(sil.Matchers)),
	}
	g.Status.State = stateAt(sil, now)
	for _, m := range sil.Matchers {
		g.Matchers = append(g.Matchers, gettableMatcher{IsEqual: m.IsEqual, IsRegex: m.IsRegex, Name: m.Name, Value: m.Value})
	}
	return g
}
