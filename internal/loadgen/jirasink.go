package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// JiraSink is a Jira that answers at once, for a peer receiver (jiralert)
// under scripts/bench storm: its downstream must not be what is measured.
// Every search finds nothing, every create answers 201 with a new key, and
// every other call answers 200 with an empty object. It keeps no issues:
// on the storm shape every alert is a new group, so a peer creates one
// ticket per webhook either way. It is not a fake for tests (those use the
// strict jiratest); it refuses only what the bench must not send: a call
// without credentials.
type JiraSink struct {
	created atomic.Int64
}

// Created reports how many issues were created.
func (s *JiraSink) Created() int64 { return s.created.Load() }

func (s *JiraSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errorMessages":["You are not authenticated."],"errors":{}}`)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/rest/api/2/search"):
		_, _ = io.WriteString(w, `{"startAt":0,"maxResults":50,"total":0,"issues":[]}`)
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/2/issue":
		n := s.created.Add(1)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": fmt.Sprint(10000 + n), "key": fmt.Sprintf("OPS-%d", n),
			"self": "http://" + r.Host + "/rest/api/2/issue/" + fmt.Sprint(10000+n)})
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}
