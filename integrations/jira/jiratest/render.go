package jiratest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes Jira answers with. Callers hold s.mu.

// jiraTime is Jira's timestamp format, "2026-11-26T10:00:00.000+0000".
const jiraTime = "2006-01-02T15:04:05.000-0700"

type object = map[string]any

func (s *Server) self(path string) string { return s.http.URL + "/rest/api/2/" + path }

func (s *Server) priorityJSON(p *priority) object {
	return object{
		"self":        s.self("priority/" + p.id),
		"iconUrl":     s.http.URL + "/images/icons/priorities/" + strings.ToLower(p.name) + ".svg",
		"name":        p.name,
		"id":          p.id,
		"description": p.description,
	}
}

func (s *Server) statusJSON(st *status) object {
	return object{
		"self":        s.self("status/" + st.id),
		"description": "",
		"iconUrl":     s.http.URL + "/",
		"name":        st.name,
		"id":          st.id,
		"statusCategory": object{
			"self":      s.self("statuscategory/" + strconv.Itoa(st.categoryID)),
			"id":        st.categoryID,
			"key":       st.categoryKey,
			"colorName": map[string]string{"new": "blue-gray", "indeterminate": "yellow", "done": "green"}[st.categoryKey],
			"name":      st.category,
		},
	}
}

func (s *Server) resolutionJSON(r *resolution) object {
	return object{"self": s.self("resolution/" + r.id), "id": r.id, "description": r.description, "name": r.name}
}

func (s *Server) issueTypeJSON(it *issueType) object {
	return object{
		"self":        s.self("issuetype/" + it.id),
		"id":          it.id,
		"description": "",
		"iconUrl":     s.http.URL + "/images/icons/issuetypes/" + strings.ToLower(it.name) + ".svg",
		"name":        it.name,
		"subtask":     false,
	}
}

func (s *Server) componentJSON(c *component) object {
	return object{"self": s.self("component/" + c.id), "id": c.id, "name": c.name}
}

func (s *Server) projectJSON(p *project, full bool) object {
	out := object{
		"self":           s.self("project/" + p.id),
		"id":             p.id,
		"key":            p.key,
		"name":           p.name,
		"projectTypeKey": "software",
	}
	if full {
		types := []object{}
		for _, it := range p.issueTypes {
			types = append(types, s.issueTypeJSON(it))
		}
		comps := []object{}
		for _, c := range p.components {
			comps = append(comps, s.componentJSON(c))
		}
		out["description"] = ""
		out["issueTypes"] = types
		out["components"] = comps
		out["lead"] = s.userJSON()
	}
	return out
}

func (s *Server) linkTypeJSON(lt *linkType) object {
	return object{"id": lt.id, "name": lt.name, "inward": lt.inward, "outward": lt.outward, "self": s.self("issueLinkType/" + lt.id)}
}

// userJSON is the bot account the credentials belong to.
func (s *Server) userJSON() object {
	if s.deployment == Cloud {
		return object{
			"self":         s.self("user?accountId=5b10ac8d82e05b22cc7d4ef5"),
			"accountId":    "5b10ac8d82e05b22cc7d4ef5",
			"accountType":  "atlassian",
			"emailAddress": s.email,
			"displayName":  "warroom bot",
			"active":       true,
			"timeZone":     "Etc/UTC",
		}
	}
	return object{
		"self":         s.self("user?username=warroom-bot"),
		"key":          "JIRAUSER10100",
		"name":         "warroom-bot",
		"emailAddress": DefaultEmail,
		"displayName":  "warroom bot",
		"active":       true,
		"timeZone":     "Etc/UTC",
	}
}

func (s *Server) commentJSON(is *issue, c *comment) object {
	return object{
		"self":         s.self("issue/" + is.id + "/comment/" + c.id),
		"id":           c.id,
		"author":       s.userJSON(),
		"body":         c.body,
		"updateAuthor": s.userJSON(),
		"created":      c.created.Format(jiraTime),
		"updated":      c.updated.Format(jiraTime),
	}
}

// linkedIssueJSON is the short form of the other issue in an issue link.
func (s *Server) linkedIssueJSON(is *issue) object {
	return object{
		"id":   is.id,
		"key":  is.key,
		"self": s.self("issue/" + is.id),
		"fields": object{
			"summary":   is.summary,
			"status":    s.statusJSON(is.status),
			"priority":  s.priorityJSON(is.priority),
			"issuetype": s.issueTypeJSON(is.issueType),
		},
	}
}

// fieldSet is the fields parameter of GET issue and search: which fields an
// answer carries.
type fieldSet struct {
	all       bool // *all
	navigable bool // *navigable: everything but comment
	include   map[string]bool
	exclude   map[string]bool
}

// parseFields reads fields parameters ("summary,labels", "*all", "-comment";
// repeatable). def applies when none is given.
func parseFields(values []string, def fieldSet) fieldSet {
	var names []string
	for _, v := range values {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return def
	}
	fs := fieldSet{include: map[string]bool{}, exclude: map[string]bool{}}
	onlyExclusions := true
	for _, n := range names {
		switch {
		case n == "*all":
			fs.all, onlyExclusions = true, false
		case n == "*navigable":
			fs.navigable, onlyExclusions = true, false
		case strings.HasPrefix(n, "-"):
			fs.exclude[strings.TrimPrefix(n, "-")] = true
		default:
			fs.include[n], onlyExclusions = true, false
		}
	}
	if onlyExclusions {
		// "-description": the default set less description.
		fs.all, fs.navigable = def.all, def.navigable
	}
	return fs
}

func (fs fieldSet) has(name string) bool {
	if fs.exclude[name] {
		return false
	}
	return fs.all || fs.include[name] || (fs.navigable && name != "comment")
}

// onlyIDs reports whether no issue field is asked for: the answer is the
// issue's id (and key, if asked for) only.
func (fs fieldSet) onlyIDs() bool {
	if fs.all || fs.navigable {
		return false
	}
	for n := range fs.include {
		if n != "id" && n != "key" {
			return false
		}
	}
	return true
}

// issueJSON renders an issue with the fields in fs.
func (s *Server) issueJSON(is *issue, fs fieldSet) object {
	out := object{"id": is.id}
	if fs.onlyIDs() {
		if fs.include["key"] {
			out["key"] = is.key
		}
		return out
	}
	out["expand"] = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
	out["self"] = s.self("issue/" + is.id)
	out["key"] = is.key

	var description any
	if is.description != nil {
		description = *is.description
	}
	var res, resolved any
	if is.resolution != nil {
		res, resolved = s.resolutionJSON(is.resolution), is.resolvedAt.Format(jiraTime)
	}
	comps := []object{}
	for _, c := range is.components {
		comps = append(comps, s.componentJSON(c))
	}
	comments := []object{}
	for _, c := range is.comments {
		comments = append(comments, s.commentJSON(is, c))
	}
	attachments := []object{}
	for _, a := range is.attachments {
		attachments = append(attachments, s.attachmentJSON(a))
	}
	links := []object{}
	for _, l := range is.links {
		link := object{"id": l.id, "self": s.self("issueLink/" + l.id), "type": s.linkTypeJSON(l.typ)}
		link[l.direction+"Issue"] = s.linkedIssueJSON(l.other)
		links = append(links, link)
	}
	labels := slices.Clone(is.labels)
	if labels == nil {
		labels = []string{}
	}
	all := object{
		"summary":        is.summary,
		"description":    description,
		"labels":         labels,
		"priority":       s.priorityJSON(is.priority),
		"status":         s.statusJSON(is.status),
		"resolution":     res,
		"resolutiondate": resolved,
		"issuetype":      s.issueTypeJSON(is.issueType),
		"project":        s.projectJSON(is.project, false),
		"components":     comps,
		"issuelinks":     links,
		"attachment":     attachments,
		"created":        is.created.Format(jiraTime),
		"updated":        is.updated.Format(jiraTime),
		"comment": object{
			"comments":   comments,
			"self":       s.self("issue/" + is.id + "/comment"),
			"maxResults": len(comments),
			"total":      len(comments),
			"startAt":    0,
		},
	}
	for _, f := range s.customFields {
		if s.onScreen(f.id, is.issueType, true) || is.custom[f.id] != nil {
			all[f.id] = is.custom[f.id]
		}
	}
	fields := object{}
	for name, v := range all {
		if fs.has(name) {
			fields[name] = v
		}
	}
	out["fields"] = fields
	return out
}

// Metadata endpoints.

func (s *Server) serverInfo(*request) reply {
	now := s.now()
	info := object{
		"baseUrl":     s.http.URL,
		"serverTime":  now.Format(jiraTime),
		"serverTitle": "Jira",
		"scmInfo":     "jiratest",
		"buildDate":   "2026-11-01T00:00:00.000+0000",
	}
	if s.deployment == Cloud {
		info["version"], info["versionNumbers"], info["buildNumber"] = "1001.0.0-SNAPSHOT", []int{1001, 0, 0}, 100283
		info["deploymentType"] = "Cloud"
	} else {
		info["version"], info["versionNumbers"], info["buildNumber"] = "9.12.15", []int{9, 12, 15}, 9120015
		info["deploymentType"] = "DataCenter"
	}
	return jsonReply(http.StatusOK, info)
}

func (s *Server) myself(*request) reply { return jsonReply(http.StatusOK, s.userJSON()) }

func (s *Server) priorityList(*request) reply {
	out := []object{}
	for _, p := range s.priorities {
		out = append(out, s.priorityJSON(p))
	}
	return jsonReply(http.StatusOK, out)
}

func (s *Server) getProject(r *request) reply {
	p := s.projectByRef(r.params["key"])
	if p == nil {
		return errorReply(http.StatusNotFound, "No project could be found with key '"+r.params["key"]+"'.")
	}
	return jsonReply(http.StatusOK, s.projectJSON(p, true))
}

// page reads startAt and maxResults for the createmeta and comment lists.
func page(q url.Values, defaultMax int) (start, maxResults int) {
	start, _ = strconv.Atoi(q.Get("startAt"))
	maxResults, err := strconv.Atoi(q.Get("maxResults"))
	if err != nil || maxResults <= 0 {
		maxResults = defaultMax
	}
	return max(start, 0), maxResults
}

func window[T any](items []T, start, n int) []T {
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(len(items), start+n)]
}

// pageJSON is a page of createmeta values: Cloud names the list (issueTypes,
// fields), Data Center calls it values and adds isLast
// (https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-createmeta-projectidorkey-issuetypes-get,
// https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/issue-getCreateIssueMetaProjectIssueTypes).
func (s *Server) pageJSON(cloudName string, all []object, q url.Values) object {
	start, n := page(q, defaultPage)
	values := window(all, start, n)
	out := object{"startAt": start, "maxResults": n, "total": len(all)}
	if s.deployment == Cloud {
		out[cloudName] = values
	} else {
		out["values"] = values
		out["isLast"] = start+len(values) >= len(all)
	}
	return out
}

func (s *Server) createMetaIssueTypes(r *request) reply {
	p := s.projectByRef(r.params["projectKey"])
	if p == nil {
		return errorReply(http.StatusNotFound, "No project could be found with key '"+r.params["projectKey"]+"'.")
	}
	types := []object{}
	for _, it := range p.issueTypes {
		types = append(types, s.issueTypeJSON(it))
	}
	return jsonReply(http.StatusOK, s.pageJSON("issueTypes", types, r.query))
}

func (s *Server) createMetaFields(r *request) reply {
	p := s.projectByRef(r.params["projectKey"])
	if p == nil {
		return errorReply(http.StatusNotFound, "No project could be found with key '"+r.params["projectKey"]+"'.")
	}
	it := p.issueType(r.params["issueTypeId"], "")
	if it == nil {
		return errorReply(http.StatusNotFound, "The issue type with id '"+r.params["issueTypeId"]+"' does not exist or is not available in project '"+p.key+"'.")
	}
	fields := []object{}
	for _, id := range s.screenFields(it) {
		fields = append(fields, s.fieldMetaJSON(id, p, it))
	}
	return jsonReply(http.StatusOK, s.pageJSON("fields", fields, r.query))
}

// fieldMetaJSON describes a field on a screen: fieldId, name, required,
// schema, operations and, for fields with a fixed set of values,
// allowedValues.
func (s *Server) fieldMetaJSON(id string, p *project, it *issueType) object {
	type meta struct {
		name     string
		required bool
		schema   object
		allowed  []object
	}
	var m meta
	switch id {
	case "summary":
		m = meta{"Summary", true, object{"type": "string", "system": "summary"}, nil}
	case "issuetype":
		m = meta{"Issue Type", true, object{"type": "issuetype", "system": "issuetype"}, []object{s.issueTypeJSON(it)}}
	case "project":
		m = meta{"Project", true, object{"type": "project", "system": "project"}, []object{s.projectJSON(p, false)}}
	case "description":
		m = meta{"Description", false, object{"type": "string", "system": "description"}, nil}
	case "priority":
		var ps []object
		for _, pr := range s.priorities {
			ps = append(ps, s.priorityJSON(pr))
		}
		m = meta{"Priority", false, object{"type": "priority", "system": "priority"}, ps}
	case "labels":
		m = meta{"Labels", false, object{"type": "array", "items": "string", "system": "labels"}, nil}
	case "components":
		cs := []object{}
		for _, c := range p.components {
			cs = append(cs, s.componentJSON(c))
		}
		m = meta{"Components", false, object{"type": "array", "items": "component", "system": "components"}, cs}
	case "resolution":
		var rs []object
		for _, r := range s.resolutions {
			rs = append(rs, s.resolutionJSON(r))
		}
		m = meta{"Resolution", true, object{"type": "resolution", "system": "resolution"}, rs}
	default:
		f := s.customField(id)
		num, _ := strconv.Atoi(strings.TrimPrefix(id, "customfield_"))
		m = meta{f.name, false, object{"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "customId": num}, nil}
	}
	out := object{
		"fieldId":         id,
		"name":            m.name,
		"required":        m.required,
		"schema":          m.schema,
		"hasDefaultValue": id == "priority",
		"operations":      []string{"set"},
	}
	if s.deployment == Cloud {
		out["key"] = id
	}
	if m.allowed != nil {
		out["allowedValues"] = m.allowed
	}
	return out
}

// stamp is the time a new issue gets: the clock, but never earlier than the
// last issue's, so that creation order and time order agree even when a test
// moves its clock back.
func (s *Server) stamp() time.Time {
	t := s.now()
	if n := len(s.issues); n > 0 && t.Before(s.issues[n-1].created) {
		t = s.issues[n-1].created
	}
	return t
}
