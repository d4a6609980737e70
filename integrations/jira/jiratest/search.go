package jiratest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Search. Handlers run with s.mu held.

// searchGone answers Jira Cloud's removed /rest/api/2/search
// (https://developer.atlassian.com/changelog/#CHANGE-2046). The wording is
// what Cloud sends to go-jira v1's Search, which calls the v2 path.
func (s *Server) searchGone(*request) reply {
	return errorReply(http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "+
		"A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
}

// searchParams is a search's arguments, from the query string (GET) or the
// body (POST).
type searchParams struct {
	jql           string
	fields        []string
	maxResults    *int
	startAt       int    // Data Center
	nextPageToken string // Cloud
	reconcile     []string
}

// readSearch reads a search's arguments. Data Center's POST body is a
// SearchRequestBean, which refuses properties it does not know.
func (s *Server) readSearch(r *request) (searchParams, *reply) {
	var p searchParams
	if r.http.Method == http.MethodGet {
		q := r.query
		p.jql, p.fields, p.nextPageToken = q.Get("jql"), q["fields"], q.Get("nextPageToken")
		if v := q.Get("maxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				rep := errorReply(http.StatusBadRequest, "The value '"+v+"' is not valid for the parameter 'maxResults'.")
				return p, &rep
			}
			p.maxResults = &n
		}
		if v := q.Get("startAt"); v != "" && s.deployment == DataCenter {
			n, err := strconv.Atoi(v)
			if err != nil {
				rep := errorReply(http.StatusBadRequest, "The value '"+v+"' is not valid for the parameter 'startAt'.")
				return p, &rep
			}
			p.startAt = n
		}
		for _, v := range q["reconcileIssues"] {
			for id := range strings.SplitSeq(v, ",") {
				p.reconcile = append(p.reconcile, strings.TrimSpace(id))
			}
		}
		return p, nil
	}

	var raw map[string]json.RawMessage
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &raw); err != nil {
			rep := errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
			return p, &rep
		}
	}
	if s.deployment == DataCenter {
		known := []string{"maxResults", "jql", "fields", "expand", "validateQuery", "startAt"}
		for name := range raw {
			if !slices.Contains(known, name) {
				rep := errorReply(http.StatusBadRequest, fmt.Sprintf(
					"Unrecognized field %q (class com.atlassian.jira.rest.v2.search.SearchRequestBean), not marked as ignorable "+
						"(6 known properties: \"maxResults\", \"jql\", \"fields\", \"expand\", \"validateQuery\", \"startAt\"])", name))
				return p, &rep
			}
		}
	}
	bad := func(name string) *reply {
		rep := errorReply(http.StatusBadRequest, "Can not deserialize the value of '"+name+"'.")
		return &rep
	}
	if v, found := raw["jql"]; found && !isNull(v) && json.Unmarshal(v, &p.jql) != nil {
		return p, bad("jql")
	}
	if v, found := raw["fields"]; found && !isNull(v) && json.Unmarshal(v, &p.fields) != nil {
		return p, bad("fields")
	}
	if v, found := raw["maxResults"]; found && !isNull(v) {
		var n int
		if json.Unmarshal(v, &n) != nil {
			return p, bad("maxResults")
		}
		p.maxResults = &n
	}
	if v, found := raw["startAt"]; found && !isNull(v) && s.deployment == DataCenter && json.Unmarshal(v, &p.startAt) != nil {
		return p, bad("startAt")
	}
	if v, found := raw["nextPageToken"]; found && !isNull(v) && s.deployment == Cloud && json.Unmarshal(v, &p.nextPageToken) != nil {
		return p, bad("nextPageToken")
	}
	if v, found := raw["reconcileIssues"]; found && !isNull(v) && s.deployment == Cloud {
		var ids []int64
		if json.Unmarshal(v, &ids) != nil {
			return p, bad("reconcileIssues")
		}
		for _, id := range ids {
			p.reconcile = append(p.reconcile, strconv.FormatInt(id, 10))
		}
	}
	return p, nil
}

// find runs a query: the issues it matches that search can see, sorted.
func (s *Server) find(q *query, reconcile []string) []*issue {
	now := s.now()
	var out []*issue
	for _, is := range s.issues {
		if now.Before(is.indexedAfter) && !slices.Contains(reconcile, is.id) {
			continue // not in the search index yet
		}
		if q.matches(is) {
			out = append(out, is)
		}
	}
	// Without ORDER BY the newest come first, like ORDER BY key DESC.
	desc := !q.ordered || q.desc
	slices.SortStableFunc(out, func(a, b *issue) int {
		c := a.created.Compare(b.created)
		if c == 0 {
			c = a.seq - b.seq
		}
		if desc {
			return -c
		}
		return c
	})
	return out
}

// searchJQL is Cloud's GET and POST /rest/api/2/search/jql: token paging,
// only the issue id unless fields are asked for, and bounded queries only
// (https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/#api-rest-api-2-search-jql-get).
func (s *Server) searchJQL(r *request) reply {
	p, bad := s.readSearch(r)
	if bad != nil {
		return *bad
	}
	q, rep := s.parseJQL(p.jql)
	if rep != nil {
		return *rep
	}
	if len(q.clauses) == 0 {
		return errorReply(http.StatusBadRequest, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
	}
	fs := parseFields(p.fields, fieldSet{})
	limit := maxPageJQLFields
	if fs.onlyIDs() {
		limit = maxPageJQLKeys
	}
	n := defaultPage
	if p.maxResults != nil {
		n = *p.maxResults
	}
	if n <= 0 || n > limit {
		n = min(max(n, 1), limit)
	}
	offset := 0
	if p.nextPageToken != "" {
		var valid bool
		if offset, valid = decodeToken(p.nextPageToken, p.jql); !valid {
			return errorReply(http.StatusBadRequest, "The provided next page token is invalid or expired.")
		}
	}
	found := s.find(q, p.reconcile)
	issues := []object{}
	for _, is := range window(found, offset, n) {
		issues = append(issues, s.issueJSON(is, fs))
	}
	out := object{"issues": issues, "isLast": offset+len(issues) >= len(found)}
	if !out["isLast"].(bool) {
		out["nextPageToken"] = encodeToken(offset+len(issues), p.jql)
	}
	return jsonReply(http.StatusOK, out)
}

// searchDataCenter is Data Center's GET and POST /rest/api/2/search: offset
// paging with total
// (https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/search-search).
func (s *Server) searchDataCenter(r *request) reply {
	p, bad := s.readSearch(r)
	if bad != nil {
		return *bad
	}
	q, rep := s.parseJQL(p.jql)
	if rep != nil {
		return *rep
	}
	if len(q.clauses) == 0 {
		// Data Center would answer every issue it has; a missing restriction is
		// a bug in the caller that the fake refuses to hide.
		return errorReply(http.StatusBadRequest, "jiratest: a JQL query without a restriction would match every issue on Data Center; the fake refuses it.")
	}
	n := defaultPage
	if p.maxResults != nil && *p.maxResults >= 0 {
		n = min(*p.maxResults, maxPageDataCenter)
	}
	start := max(p.startAt, 0)
	found := s.find(q, nil)
	fs := parseFields(p.fields, fieldSet{navigable: true})
	issues := []object{}
	for _, is := range window(found, start, n) {
		issues = append(issues, s.issueJSON(is, fs))
	}
	return jsonReply(http.StatusOK, object{
		"expand":     "schema,names",
		"startAt":    start,
		"maxResults": n,
		"total":      len(found),
		"issues":     issues,
	})
}

// A page token names the next offset of one query. Jira's are opaque; the
// fake's hold the offset and a digest of the JQL, so that a token is refused
// with any other query.
func encodeToken(offset int, jql string) string {
	sum := sha256.Sum256([]byte(jql))
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + hex.EncodeToString(sum[:8])))
}

func decodeToken(token, jql string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	offset, digest, found := strings.Cut(string(raw), ":")
	n, err := strconv.Atoi(offset)
	sum := sha256.Sum256([]byte(jql))
	if !found || err != nil || n < 0 || digest != hex.EncodeToString(sum[:8]) {
		return 0, false
	}
	return n, true
}

// The JQL subset warroom uses:
//
//	project = KEY
//	labels = x | labels = "x" | labels in (x, "y")
//
// joined with AND, then optionally ORDER BY created [ASC|DESC]. Anything else
// is answered 400 rather than matched loosely.

type query struct {
	clauses []clause
	ordered bool
	desc    bool
}

type clause struct {
	field   string // "project" or "labels"
	values  []string
	project *project
}

func (q *query) matches(is *issue) bool {
	for _, c := range q.clauses {
		switch c.field {
		case "project":
			if is.project != c.project {
				return false
			}
		case "labels":
			if !slices.ContainsFunc(c.values, func(v string) bool { return slices.Contains(is.labels, v) }) {
				return false
			}
		}
	}
	return true
}

type token struct {
	text   string
	quoted bool
	pos    int // 1-based character position, as Jira reports it
}

// jqlReserved are the characters JQL reserves outside quotes
// (https://support.atlassian.com/jira-software-cloud/docs/advanced-search-reference-jql-fields/,
// "Restricted words and characters").
const jqlReserved = `+.;?|*/%^$#@[]`

// jqlReservedWords are some of the words JQL reserves; an unquoted value that
// is one of them is refused.
var jqlReservedWords = []string{"and", "or", "not", "empty", "null", "order", "by", "asc", "desc", "in", "is", "was", "changed"}

func jqlError(format string, args ...any) *reply {
	rep := errorReply(http.StatusBadRequest, fmt.Sprintf(format, args...))
	return &rep
}

func unsupported(jql, why string) *reply {
	return jqlError("jiratest: unsupported JQL %q: %s. The fake understands project = KEY, labels = x and labels in (x, y), joined with AND, "+
		"with an optional ORDER BY created ASC|DESC.", jql, why)
}

func tokenize(jql string) ([]token, *reply) {
	var toks []token
	rs := []rune(jql)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, token{text: string(c), pos: i + 1})
			i++
		case c == '!' || c == '~' || c == '<' || c == '>':
			j := i + 1
			if j < len(rs) && (rs[j] == '=' || rs[j] == '~') {
				j++
			}
			toks = append(toks, token{text: string(rs[i:j]), pos: i + 1})
			i = j
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != c; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, jqlError("Error in the JQL Query: The quoted string '%s' has not been completed. (line 1, character %d)", string(rs[i+1:]), i+1)
			}
			toks = append(toks, token{text: b.String(), quoted: true, pos: i + 1})
			i = j + 1
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune(`()=,!~<>"'`, rs[j]) {
				if strings.ContainsRune(jqlReserved, rs[j]) {
					return nil, jqlError("Error in the JQL Query: The character '%c' is a reserved JQL character. "+
						"You must enclose it in a string or use the escape '\\u%04x' instead. (line 1, character %d)", rs[j], rs[j], j+1)
				}
				j++
			}
			toks = append(toks, token{text: string(rs[i:j]), pos: i + 1})
			i = j
		}
	}
	return toks, nil
}

func (t token) is(word string) bool { return !t.quoted && strings.EqualFold(t.text, word) }

// parseJQL parses the subset; a project that does not exist is Jira's 400.
func (s *Server) parseJQL(jql string) (*query, *reply) {
	toks, rep := tokenize(jql)
	if rep != nil {
		return nil, rep
	}
	q := &query{}
	i := 0
	next := func() (token, bool) {
		if i >= len(toks) {
			return token{}, false
		}
		i++
		return toks[i-1], true
	}
	value := func() (string, *reply) {
		t, found := next()
		if !found {
			return "", jqlError("Error in the JQL Query: Expecting either a value, list or function but got '<EOF>'. (line 1, character %d)", len([]rune(jql))+1)
		}
		if !t.quoted && slices.Contains(jqlReservedWords, strings.ToLower(t.text)) {
			return "", jqlError("Error in the JQL Query: '%s' is a reserved JQL word. You must surround it in quotation marks to use it in a query. (line 1, character %d)", t.text, t.pos)
		}
		if !t.quoted && strings.ContainsAny(t.text, "(),=") {
			return "", unsupported(jql, "expected a value at character "+strconv.Itoa(t.pos))
		}
		if !t.quoted && i < len(toks) && toks[i].text == "(" && !toks[i].quoted {
			return "", unsupported(jql, "functions such as "+t.text+"() are not supported")
		}
		return t.text, nil
	}

	for i < len(toks) && !toks[i].is("order") {
		if len(q.clauses) > 0 {
			t, _ := next()
			if !t.is("and") {
				return nil, unsupported(jql, fmt.Sprintf("%q at character %d: only AND joins clauses", t.text, t.pos))
			}
		}
		f, found := next()
		if !found {
			return nil, jqlError("Error in the JQL Query: Expecting a field name but got '<EOF>'. (line 1, character %d)", len([]rune(jql))+1)
		}
		field := strings.ToLower(f.text)
		if f.quoted || (field != "project" && field != "labels") {
			return nil, unsupported(jql, fmt.Sprintf("field %q", f.text))
		}
		op, _ := next()
		var values []string
		switch {
		case op.text == "=":
			v, rep := value()
			if rep != nil {
				return nil, rep
			}
			values = []string{v}
		case op.is("in") && field == "labels":
			if t, _ := next(); t.text != "(" || t.quoted {
				return nil, unsupported(jql, "expected ( after IN")
			}
			for {
				v, rep := value()
				if rep != nil {
					return nil, rep
				}
				values = append(values, v)
				t, found := next()
				if found && t.text == "," && !t.quoted {
					continue
				}
				if found && t.text == ")" && !t.quoted {
					break
				}
				return nil, unsupported(jql, "expected , or ) in the IN list")
			}
		default:
			return nil, unsupported(jql, fmt.Sprintf("operator %q for %s", op.text, field))
		}
		c := clause{field: field, values: values}
		if field == "project" {
			if c.project = s.projectByRef(values[0]); c.project == nil {
				for _, p := range s.projects {
					if strings.EqualFold(p.name, values[0]) {
						c.project = p
					}
				}
			}
			if c.project == nil {
				return nil, jqlError("The value '%s' does not exist for the field 'project'.", values[0])
			}
		}
		q.clauses = append(q.clauses, c)
	}

	if i < len(toks) {
		next() // ORDER
		if t, _ := next(); !t.is("by") {
			return nil, unsupported(jql, "expected BY after ORDER")
		}
		if t, _ := next(); !t.is("created") {
			return nil, unsupported(jql, fmt.Sprintf("ORDER BY %q: only created", t.text))
		}
		q.ordered = true
		if t, found := next(); found {
			switch {
			case t.is("desc"):
				q.desc = true
			case t.is("asc"):
			default:
				return nil, unsupported(jql, fmt.Sprintf("%q after ORDER BY created", t.text))
			}
		}
		if t, found := next(); found {
			return nil, unsupported(jql, fmt.Sprintf("%q at character %d after the ORDER BY clause", t.text, t.pos))
		}
	}
	return q, nil
}
