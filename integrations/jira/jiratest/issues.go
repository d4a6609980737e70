package jiratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Issues, comments, transitions and links. Handlers run with s.mu held.

// Error wordings that differ between the deployments. Data Center's are from
// Atlassian's own REST client tests against Jira (jira-rest-java-client,
// JerseyIssueRestClientTest); Cloud's from answers quoted in client issue
// trackers (see the package's report for the links).
func (s *Server) msgProject() string {
	if s.deployment == Cloud {
		return "Specify a valid project ID or key"
	}
	return "project is required"
}

func (s *Server) msgIssueType(missing bool) string {
	switch {
	case s.deployment == Cloud && missing:
		return "Specify an issue type"
	case s.deployment == Cloud:
		return "Specify a valid issue type"
	case missing:
		return "issue type is required"
	}
	return "valid issue type is required"
}

func (s *Server) msgSummaryTooLong() string {
	if s.deployment == Cloud {
		return "Summary can't exceed 255 characters."
	}
	return "Summary must be less than 255 characters."
}

func (s *Server) msgLabelSpaces(label string) string {
	if s.deployment == Cloud {
		return "The label '" + label + "' can't contain spaces."
	}
	return "The label '" + label + "' contains spaces which is invalid."
}

const (
	msgNoSummary       = "You must specify a summary of the issue."
	msgSummaryNewline  = "The summary is invalid because it contains newline characters."
	msgNotString       = "Operation value must be a string"
	msgNotArray        = "data was not an array"
	msgTextTooLong     = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
	msgPriorityInvalid = "The priority selected is invalid."
	msgIssueNotFound   = "Issue does not exist or you do not have permission to see it."
	msgEmptyComment    = "Comment body can not be empty!"
)

func msgNotOnScreen(field string) string {
	return "Field '" + field + "' cannot be set. It is not on the appropriate screen, or unknown."
}

// javaLen is a string's length as Jira counts it: UTF-16 code units.
func javaLen(s string) int { return len(utf16.Encode([]rune(s))) }

// ref is the {"id":…}/{"key":…}/{"name":…} object Jira takes for a reference
// to another entity. go-jira sends the fields it does not use as "".
type ref struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// readRef decodes a reference; it reports false when raw is not an object
// with a non-empty id or name field (key instead of name when byKey).
func readRef(raw json.RawMessage, byKey bool) (ref, bool) {
	var r ref
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return r, false
	}
	// Jira takes numeric IDs as numbers too.
	if id, found := obj["id"]; found {
		var n json.Number
		if json.Unmarshal(id, &n) == nil {
			r.ID = n.String()
		} else {
			_ = json.Unmarshal(id, &r.ID)
		}
	}
	_ = json.Unmarshal(obj["key"], &r.Key)
	_ = json.Unmarshal(obj["name"], &r.Name)
	if byKey {
		return r, r.ID != "" || r.Key != ""
	}
	return r, r.ID != "" || r.Name != ""
}

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

// fieldValues is the result of checking the fields of a create or an edit.
type fieldValues struct {
	summary     *string
	description *string
	clearDesc   bool
	priority    *priority
	labels      *[]string
	components  *[]*component
	custom      map[string]any
}

// checkFields validates the fields Jira would set on an issue of type it in
// project p and collects every problem, keyed by field, as Jira does. create
// tells the create screen from the edit screen.
func (s *Server) checkFields(fields map[string]json.RawMessage, p *project, it *issueType, create bool) (fieldValues, map[string]string) {
	v := fieldValues{custom: map[string]any{}}
	errs := map[string]string{}
	for name, raw := range fields {
		if name == "project" || name == "issuetype" {
			if !create {
				errs[name] = msgNotOnScreen(name)
			}
			continue // checked by createIssue
		}
		if !s.onScreen(name, it, create) {
			errs[name] = msgNotOnScreen(name)
			continue
		}
		switch name {
		case "summary":
			var sum string
			if isNull(raw) {
				errs[name] = msgNoSummary
			} else if json.Unmarshal(raw, &sum) != nil {
				errs[name] = msgNotString
			} else if msg := checkSummary(sum, s.msgSummaryTooLong()); msg != "" {
				errs[name] = msg
			} else {
				v.summary = &sum
			}
		case "description":
			var d string
			switch {
			case isNull(raw):
				v.clearDesc = true
			case json.Unmarshal(raw, &d) != nil:
				// REST v2 takes wiki markup as a string; an Atlassian
				// Document Format object is for v3.
				errs[name] = msgNotString
			case javaLen(d) > maxText:
				errs[name] = msgTextTooLong
			default:
				v.description = &d
			}
		case "priority":
			r, found := readRef(raw, false)
			if !found {
				errs[name] = "Could not find valid 'id' or 'name' in priority object."
			} else if pr := s.priority(r.ID, r.Name); pr == nil {
				errs[name] = msgPriorityInvalid
			} else {
				v.priority = pr
			}
		case "labels":
			var labels []string
			if json.Unmarshal(raw, &labels) != nil {
				errs[name] = msgNotArray
			} else if msg := s.checkLabels(labels); msg != "" {
				errs[name] = msg
			} else {
				labels = dedup(labels)
				v.labels = &labels
			}
		case "components":
			comps, msg := readComponents(raw, p)
			if msg != "" {
				errs[name] = msg
			} else {
				v.components = &comps
			}
		default: // a string custom field on the screen
			var str string
			switch {
			case isNull(raw):
				v.custom[name] = nil
			case json.Unmarshal(raw, &str) != nil:
				errs[name] = msgNotString
			case javaLen(str) > maxSummary:
				// Jira's single-line text field holds 255 characters.
				errs[name] = "The entered text is too long. It exceeds the allowed limit of 255 characters."
			default:
				v.custom[name] = str
			}
		}
	}
	return v, errs
}

func checkSummary(sum, tooLong string) string {
	switch {
	case strings.TrimSpace(sum) == "":
		return msgNoSummary
	case strings.ContainsAny(sum, "\r\n"):
		return msgSummaryNewline
	case javaLen(sum) > maxSummary:
		return tooLong
	}
	return ""
}

func (s *Server) checkLabels(labels []string) string {
	for _, l := range labels {
		if strings.IndexFunc(l, unicode.IsSpace) >= 0 {
			return s.msgLabelSpaces(l)
		}
		if javaLen(l) > maxLabel {
			return "The label '" + l + "' exceeds the maximum length for a single label of 255 characters."
		}
	}
	return ""
}

func readComponents(raw json.RawMessage, p *project) ([]*component, string) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, msgNotArray
	}
	var out []*component
	for _, item := range items {
		r, found := readRef(item, false)
		if !found {
			return nil, "Could not find valid 'id' or 'name' in component object."
		}
		var c *component
		if r.ID != "" {
			if c = p.componentByID(r.ID); c == nil {
				return nil, "Component id '" + r.ID + "' is not valid"
			}
		} else if c = p.component(r.Name); c == nil {
			return nil, "Component name '" + r.Name + "' is not valid"
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, ""
}

func dedup(labels []string) []string {
	var out []string
	for _, l := range labels {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// issueWrite is the body of POST and PUT /rest/api/2/issue; Jira ignores
// other top-level properties (go-jira's Update sends "key" too).
type issueWrite struct {
	Fields map[string]json.RawMessage              `json:"fields"`
	Update map[string][]map[string]json.RawMessage `json:"update"`
}

func (s *Server) createIssue(r *request) reply {
	var body issueWrite
	if err := json.Unmarshal(r.body, &body); err != nil {
		return errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
	}
	errs := map[string]string{}

	raw, found := body.Fields["project"]
	pr, valid := readRef(raw, true)
	var p *project
	if found && valid {
		if pr.ID != "" {
			p = s.projectByRef(pr.ID)
		} else {
			p = s.projectByKey(pr.Key)
		}
	}
	if p == nil {
		if found && !valid && !isNull(raw) {
			errs["project"] = "Could not find valid 'id' or 'key' in project object."
		} else {
			errs["project"] = s.msgProject()
		}
		return fieldErrors(errs)
	}

	var it *issueType
	raw, found = body.Fields["issuetype"]
	if !found || isNull(raw) {
		errs["issuetype"] = s.msgIssueType(true)
	} else if tr, valid := readRef(raw, false); !valid {
		errs["issuetype"] = "Could not find valid 'id' or 'name' in issue type object."
	} else if it = p.issueType(tr.ID, tr.Name); it == nil {
		errs["issuetype"] = s.msgIssueType(false)
	}
	if it == nil {
		if _, found := body.Fields["summary"]; !found {
			errs["summary"] = msgNoSummary
		}
		return fieldErrors(errs)
	}

	v, fieldErrs := s.checkFields(body.Fields, p, it, true)
	for k, msg := range fieldErrs {
		errs[k] = msg
	}
	if _, found := body.Fields["summary"]; !found {
		errs["summary"] = msgNoSummary
	}
	if len(errs) > 0 {
		return fieldErrors(errs)
	}
	if len(body.Update) > 0 {
		// Jira takes update verbs on create too; warroom sets fields instead,
		// and the fake says so rather than ignoring them.
		return errorReply(http.StatusBadRequest, "jiratest: \"update\" is not supported on create; set the values in \"fields\".")
	}

	now := s.stamp()
	p.lastNumber++
	is := &issue{
		id:           s.nextID(),
		key:          fmt.Sprintf("%s-%d", p.key, p.lastNumber),
		seq:          len(s.issues),
		project:      p,
		issueType:    it,
		priority:     s.priority("", "Medium"), // the default priority scheme's default
		summary:      *v.summary,
		status:       s.status(statusToDo),
		custom:       map[string]any{},
		created:      now,
		updated:      now,
		indexedAfter: now.Add(s.searchLag),
	}
	s.apply(is, v)
	s.issues = append(s.issues, is)
	return jsonReply(http.StatusCreated, object{"id": is.id, "key": is.key, "self": s.self("issue/" + is.id)})
}

// apply sets checked field values on an issue.
func (s *Server) apply(is *issue, v fieldValues) {
	if v.summary != nil {
		is.summary = *v.summary
	}
	if v.clearDesc {
		is.description = nil
	}
	if v.description != nil {
		d := *v.description
		is.description = &d
	}
	if v.priority != nil {
		is.priority = v.priority
	}
	if v.labels != nil {
		is.labels = *v.labels
	}
	if v.components != nil {
		is.components = *v.components
	}
	for k, val := range v.custom {
		if val == nil {
			delete(is.custom, k)
		} else {
			is.custom[k] = val
		}
	}
}

func (s *Server) getIssue(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	return jsonReply(http.StatusOK, s.issueJSON(is, parseFields(r.query["fields"], fieldSet{all: true})))
}

// editIssue is PUT /rest/api/2/issue/{key}: fields are set; update takes the
// verbs Jira documents (set, add, remove) for labels, and set for summary and
// description.
func (s *Server) editIssue(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	var body issueWrite
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &body); err != nil {
			return errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
		}
	}
	v, errs := s.checkFields(body.Fields, is.project, is.issueType, false)
	labels := slices.Clone(is.labels)
	if v.labels != nil {
		labels = *v.labels
	}
	for name, ops := range body.Update {
		if _, both := body.Fields[name]; both {
			errs[name] = "Field '" + name + "' cannot be set in both fields and update."
			continue
		}
		switch name {
		case "labels":
			for _, op := range ops {
				for verb, raw := range op {
					var err string
					labels, err = s.labelOp(labels, verb, raw)
					if err != "" {
						errs[name] = err
					}
				}
			}
			if _, failed := errs[name]; !failed {
				labels = dedup(labels)
				v.labels = &labels
			}
		case "summary", "description":
			for _, op := range ops {
				for verb, raw := range op {
					if verb != "set" {
						errs[name] = "Field '" + name + "' does not support operation '" + verb + "'"
						continue
					}
					sub, subErrs := s.checkFields(map[string]json.RawMessage{name: raw}, is.project, is.issueType, false)
					if msg, bad := subErrs[name]; bad {
						errs[name] = msg
						continue
					}
					if sub.summary != nil {
						v.summary = sub.summary
					}
					if sub.description != nil || sub.clearDesc {
						v.description, v.clearDesc = sub.description, sub.clearDesc
					}
				}
			}
		default:
			errs[name] = msgNotOnScreen(name)
		}
	}
	if len(errs) > 0 {
		return fieldErrors(errs)
	}
	s.apply(is, v)
	is.updated = s.now()
	return reply{status: http.StatusNoContent}
}

func (s *Server) labelOp(labels []string, verb string, raw json.RawMessage) ([]string, string) {
	switch verb {
	case "set":
		var set []string
		if json.Unmarshal(raw, &set) != nil {
			return labels, msgNotArray
		}
		if msg := s.checkLabels(set); msg != "" {
			return labels, msg
		}
		return set, ""
	case "add", "remove":
		var l string
		if json.Unmarshal(raw, &l) != nil {
			return labels, msgNotString
		}
		if verb == "remove" {
			return slices.DeleteFunc(labels, func(x string) bool { return x == l }), ""
		}
		if msg := s.checkLabels([]string{l}); msg != "" {
			return labels, msg
		}
		return append(labels, l), ""
	}
	return labels, "Field 'labels' does not support operation '" + verb + "'"
}

// Comments.

func (s *Server) listComments(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	comments := slices.Clone(is.comments)
	switch r.query.Get("orderBy") {
	case "", "created", "+created":
	case "-created":
		slices.Reverse(comments)
	default:
		return errorReply(http.StatusBadRequest, "Invalid orderBy value: "+r.query.Get("orderBy"))
	}
	start, n := page(r.query, defaultCommentsPage)
	out := []object{}
	for _, c := range window(comments, start, n) {
		out = append(out, s.commentJSON(is, c))
	}
	return jsonReply(http.StatusOK, object{"startAt": start, "maxResults": n, "total": len(comments), "comments": out})
}

func (s *Server) addComment(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	// go-jira sends empty author, updateAuthor and visibility objects too;
	// Jira ignores them.
	var body struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
	}
	text, msg := s.commentBody(body.Body)
	if msg != "" {
		return fieldErrors(map[string]string{"comment": msg})
	}
	c := s.newComment(is, text)
	return jsonReply(http.StatusCreated, s.commentJSON(is, c))
}

func (s *Server) commentBody(raw json.RawMessage) (string, string) {
	var text string
	switch {
	case len(raw) == 0 || isNull(raw):
		return "", msgEmptyComment
	case json.Unmarshal(raw, &text) != nil:
		return "", msgNotString
	case strings.TrimSpace(text) == "":
		return "", msgEmptyComment
	case javaLen(text) > maxText:
		return "", msgTextTooLong
	}
	return text, ""
}

func (s *Server) newComment(is *issue, text string) *comment {
	now := s.now()
	c := &comment{id: s.nextID(), body: text, created: now, updated: now}
	is.comments = append(is.comments, c)
	is.updated = now
	return c
}

// Transitions.

func (s *Server) transitionJSON(t *transition, withFields bool) object {
	out := object{
		"id":            t.id,
		"name":          t.name,
		"to":            s.statusJSON(s.status(t.to)),
		"hasScreen":     len(t.screen) > 0,
		"isGlobal":      false,
		"isInitial":     false,
		"isAvailable":   true,
		"isConditional": false,
		"isLooped":      false,
	}
	if withFields {
		fields := object{}
		for _, f := range t.screen {
			fields[f] = s.fieldMetaJSON(f, nil, nil)
		}
		out["fields"] = fields
	}
	return out
}

func (s *Server) listTransitions(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	withFields := slices.Contains(strings.Split(r.query.Get("expand"), ","), "transitions.fields")
	out := []object{}
	for _, t := range s.available(is) {
		out = append(out, s.transitionJSON(t, withFields))
	}
	return jsonReply(http.StatusOK, object{"expand": "transitions", "transitions": out})
}

// doTransition is POST /rest/api/2/issue/{key}/transitions.
func (s *Server) doTransition(r *request) reply {
	is := s.issueByRef(r.params["key"])
	if is == nil {
		return errorReply(http.StatusNotFound, msgIssueNotFound)
	}
	var body struct {
		Transition *struct {
			ID json.RawMessage `json:"id"`
		} `json:"transition"`
		Fields map[string]json.RawMessage              `json:"fields"`
		Update map[string][]map[string]json.RawMessage `json:"update"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
	}
	if body.Transition == nil || len(body.Transition.ID) == 0 || isNull(body.Transition.ID) {
		return errorReply(http.StatusBadRequest, "Missing 'transition' identifier")
	}
	var id string
	var n json.Number
	if json.Unmarshal(body.Transition.ID, &n) == nil {
		id = n.String()
	} else {
		_ = json.Unmarshal(body.Transition.ID, &id)
	}
	if _, err := strconv.Atoi(id); err != nil {
		return errorReply(http.StatusBadRequest, "'transition' identifier must be an integer")
	}
	var t *transition
	for _, cand := range s.transitions {
		if cand.id == id {
			t = cand
		}
	}
	if t == nil {
		return errorReply(http.StatusBadRequest, "Transition id '"+id+"' is not valid for this issue.")
	}
	if !slices.Contains(t.from, is.status.name) {
		return errorReply(http.StatusBadRequest, fmt.Sprintf(
			"It seems that you have tried to perform a workflow operation (%s) that is not valid for the current state of this issue (%s). "+
				"The likely cause is that somebody has changed the issue recently, please look at the issue history for details.", t.name, is.key))
	}

	errs := map[string]string{}
	var res *resolution
	for name, raw := range body.Fields {
		if !slices.Contains(t.screen, name) {
			errs[name] = msgNotOnScreen(name)
			continue
		}
		// resolution is the only field a transition screen here has.
		rr, found := readRef(raw, false)
		switch {
		case !found:
			errs[name] = "Could not find valid 'id' or 'name' in resolution object."
		case s.resolution(rr.ID, rr.Name) == nil:
			errs[name] = "The resolution selected is invalid."
		default:
			res = s.resolution(rr.ID, rr.Name)
		}
	}
	var comments []string
	for name, ops := range body.Update {
		if name != "comment" {
			errs[name] = msgNotOnScreen(name)
			continue
		}
		for _, op := range ops {
			for verb, raw := range op {
				var add struct {
					Body json.RawMessage `json:"body"`
				}
				if verb != "add" || json.Unmarshal(raw, &add) != nil {
					errs["comment"] = "Field 'comment' does not support operation '" + verb + "'"
					continue
				}
				text, msg := s.commentBody(add.Body)
				if msg != "" {
					errs["comment"] = msg
					continue
				}
				comments = append(comments, text)
			}
		}
	}
	if len(errs) > 0 {
		return fieldErrors(errs)
	}
	if slices.Contains(t.screen, "resolution") && res == nil {
		// The Resolution field is required wherever a screen has it.
		return errorReply(http.StatusBadRequest, "Field Resolution is required.")
	}

	now := s.now()
	is.status = s.status(t.to)
	switch {
	case res != nil:
		is.resolution, is.resolvedAt = res, now
	case t.clears:
		is.resolution = nil
	}
	for _, text := range comments {
		s.newComment(is, text)
	}
	is.updated = now
	return reply{status: http.StatusNoContent}
}

// Links.

// addLink is POST /rest/api/2/issueLink. The issue sent as inwardIssue shows
// the link with the type's outward words ("OPS-1 blocks OPS-2"), the
// outwardIssue with its inward words ("OPS-2 is blocked by OPS-1"). A link
// that exists already is answered 201 and not made twice.
func (s *Server) addLink(r *request) reply {
	var body struct {
		Type         json.RawMessage `json:"type"`
		InwardIssue  json.RawMessage `json:"inwardIssue"`
		OutwardIssue json.RawMessage `json:"outwardIssue"`
		Comment      *struct {
			Body json.RawMessage `json:"body"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return errorReply(http.StatusBadRequest, "Can not deserialize the request body: "+err.Error())
	}
	tr, found := readRef(body.Type, false)
	if !found {
		return errorReply(http.StatusBadRequest, "Issue link type is required.")
	}
	lt := s.linkType(tr.ID, tr.Name)
	if lt == nil {
		if tr.ID != "" {
			return errorReply(http.StatusNotFound, "No issue link type with id '"+tr.ID+"' found.")
		}
		return errorReply(http.StatusNotFound, "No issue link type with name '"+tr.Name+"' found.")
	}
	var ends [2]*issue
	for i, raw := range []json.RawMessage{body.InwardIssue, body.OutwardIssue} {
		ir, found := readRef(raw, true)
		if !found {
			return errorReply(http.StatusBadRequest, "Both inwardIssue and outwardIssue are required.")
		}
		ref := ir.Key
		if ir.ID != "" {
			ref = ir.ID
		}
		if ends[i] = s.issueByRef(ref); ends[i] == nil {
			if s.deployment == Cloud {
				return errorReply(http.StatusNotFound, msgIssueNotFound)
			}
			return errorReply(http.StatusNotFound, "Issue Does Not Exist")
		}
	}
	var commentText string
	if body.Comment != nil {
		text, msg := s.commentBody(body.Comment.Body)
		if msg != "" {
			return fieldErrors(map[string]string{"comment": msg})
		}
		commentText = text
	}
	from, to := ends[0], ends[1]
	for _, l := range from.links {
		if l.typ == lt && l.direction == "outward" && l.other == to {
			return reply{status: http.StatusCreated}
		}
	}
	id := s.nextID()
	from.links = append(from.links, &issueLink{id: id, typ: lt, direction: "outward", other: to})
	to.links = append(to.links, &issueLink{id: id, typ: lt, direction: "inward", other: from})
	if commentText != "" {
		s.newComment(from, commentText)
	}
	now := s.now()
	from.updated, to.updated = now, now
	return reply{status: http.StatusCreated}
}
