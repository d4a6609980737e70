package jiratest

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

type project struct {
	id, key, name string
	issueTypes    []*issueType
	components    []*component
	lastNumber    int // the number in the last issue key handed out
}

type issueType struct{ id, name string }

type component struct{ id, name string }

type priority struct{ id, name, description string }

type resolution struct{ id, name, description string }

// status is a workflow status with its category: "new" (To Do),
// "indeterminate" (In Progress) or "done".
type status struct {
	id, name    string
	categoryID  int
	categoryKey string
	category    string
}

// transition is a workflow transition: available from the statuses in from,
// to the status to. screen lists the fields its screen has; clears says it
// empties the resolution (a reopen).
type transition struct {
	id, name string
	from     []string
	to       string
	screen   []string
	clears   bool
}

type linkType struct{ id, name, inward, outward string }

// customField is a string custom field. It is on the create and edit screens
// of every issue type when everywhere is set, else of the issue types named in
// issueTypes.
type customField struct {
	id, name   string
	everywhere bool
	issueTypes []string
}

type issue struct {
	id, key      string
	seq          int // creation order, to break ties between equal times
	project      *project
	issueType    *issueType
	priority     *priority
	summary      string
	description  *string // nil when none was given
	status       *status
	resolution   *resolution
	resolvedAt   time.Time
	labels       []string
	components   []*component
	custom       map[string]any
	comments     []*comment
	links        []*issueLink
	attachments  []*attachment
	created      time.Time
	updated      time.Time
	indexedAfter time.Time // when search first sees it (WithSearchLag)
}

type comment struct {
	id, body         string
	created, updated time.Time
}

// issueLink is one end of a link, as held by the issue it is shown on.
type issueLink struct {
	id        string
	typ       *linkType
	direction string // "outward": this issue <outward words> other; "inward": the reverse
	other     *issue
}

// The statuses, in workflow order.
const (
	statusToDo       = "To Do"
	statusInProgress = "In Progress"
	statusDone       = "Done"
)

// seed builds the default site. The caller does not hold s.mu (New).
func (s *Server) seed() {
	// Jira's default priority IDs.
	s.priorities = []*priority{
		{"1", "Highest", "This problem will block progress."},
		{"2", "High", "Serious problem that could block progress."},
		{"3", "Medium", "Has the potential to affect progress."},
		{"4", "Low", "Minor problem or easily worked around."},
		{"5", "Lowest", "Trivial problem with little or no impact on progress."},
	}
	s.resolutions = []*resolution{
		{"10000", "Done", "Work has been completed on this issue."},
		{"10001", "Won't Do", "This issue won't be actioned."},
	}
	s.statuses = []*status{
		{"10000", statusToDo, 2, "new", "To Do"},
		{"3", statusInProgress, 4, "indeterminate", "In Progress"},
		{"10001", statusDone, 3, "done", "Done"},
	}
	s.transitions = []*transition{
		{id: "11", name: "Start Progress", from: []string{statusToDo}, to: statusInProgress},
		{id: "21", name: "Done", from: []string{statusToDo, statusInProgress}, to: statusDone, screen: []string{"resolution"}},
		{id: "31", name: "Reopen", from: []string{statusDone}, to: statusToDo, clears: true},
	}
	// Jira's default link type IDs.
	s.linkTypes = []*linkType{
		{"10000", "Blocks", "is blocked by", "blocks"},
		{"10003", "Relates", "relates to", "relates to"},
	}
	s.customFields = []*customField{{id: "customfield_10001", name: "Team", issueTypes: []string{"Incident"}}}
	s.issueTypes = []*issueType{{"10004", "Incident"}, {"10005", "Bug"}}
	s.lastID = 10005
	s.projects = []*project{{id: "10000", key: "OPS", name: "Operations", issueTypes: slices.Clone(s.issueTypes)}}
}

// Lookups; callers hold s.mu.

func (s *Server) projectByKey(key string) *project {
	for _, p := range s.projects {
		if strings.EqualFold(p.key, key) {
			return p
		}
	}
	return nil
}

// projectByRef finds a project by key or ID, as the REST resources take it.
func (s *Server) projectByRef(ref string) *project {
	for _, p := range s.projects {
		if p.id == ref {
			return p
		}
	}
	return s.projectByKey(ref)
}

func (s *Server) issueTypeByName(name string) *issueType {
	for _, it := range s.issueTypes {
		if strings.EqualFold(it.name, name) {
			return it
		}
	}
	return nil
}

func (p *project) issueType(id, name string) *issueType {
	for _, it := range p.issueTypes {
		if (id != "" && it.id == id) || (id == "" && strings.EqualFold(it.name, name)) {
			return it
		}
	}
	return nil
}

func (p *project) component(name string) *component {
	for _, c := range p.components {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (p *project) componentByID(id string) *component {
	for _, c := range p.components {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (s *Server) priority(id, name string) *priority {
	for _, p := range s.priorities {
		if (id != "" && p.id == id) || (id == "" && strings.EqualFold(p.name, name)) {
			return p
		}
	}
	return nil
}

func (s *Server) resolution(id, name string) *resolution {
	for _, r := range s.resolutions {
		if (id != "" && r.id == id) || (id == "" && strings.EqualFold(r.name, name)) {
			return r
		}
	}
	return nil
}

func (s *Server) status(name string) *status {
	for _, st := range s.statuses {
		if st.name == name {
			return st
		}
	}
	return nil
}

func (s *Server) linkType(id, name string) *linkType {
	for _, lt := range s.linkTypes {
		if (id != "" && lt.id == id) || (id == "" && strings.EqualFold(lt.name, name)) {
			return lt
		}
	}
	return nil
}

func (s *Server) customField(id string) *customField {
	for _, f := range s.customFields {
		if f.id == id {
			return f
		}
	}
	return nil
}

// issueByRef finds an issue by key (any case, as Jira takes it) or ID.
func (s *Server) issueByRef(ref string) *issue {
	for _, is := range s.issues {
		if is.id == ref || strings.EqualFold(is.key, ref) {
			return is
		}
	}
	return nil
}

func (s *Server) nextID() string {
	s.lastID++
	return strconv.Itoa(s.lastID)
}

// onScreen reports whether field is on the create (or edit) screen of the
// issue type. Project and issue type are set on create only.
func (s *Server) onScreen(field string, it *issueType, create bool) bool {
	switch field {
	case "project", "issuetype":
		return create
	case "summary", "description", "priority", "labels", "components":
		return true
	}
	f := s.customField(field)
	return f != nil && (f.everywhere || slices.Contains(f.issueTypes, it.name))
}

// screenFields lists the fields on the create screen of an issue type, in
// Jira's usual order.
func (s *Server) screenFields(it *issueType) []string {
	fields := []string{"summary", "issuetype", "project", "description", "priority", "labels", "components"}
	for _, f := range s.customFields {
		if s.onScreen(f.id, it, true) {
			fields = append(fields, f.id)
		}
	}
	return fields
}

func (s *Server) available(is *issue) []*transition {
	var out []*transition
	for _, t := range s.transitions {
		if slices.Contains(t.from, is.status.name) {
			out = append(out, t)
		}
	}
	return out
}

func (is *issue) copy() Issue {
	out := Issue{
		Key:        is.key,
		ID:         is.id,
		Project:    is.project.key,
		IssueType:  is.issueType.name,
		Priority:   is.priority.name,
		Summary:    is.summary,
		Status:     is.status.name,
		Labels:     slices.Clone(is.labels),
		Custom:     maps.Clone(is.custom),
		Created:    is.created,
		Components: []string{},
	}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	if is.description != nil {
		out.Description = *is.description
	}
	if is.resolution != nil {
		out.Resolution = is.resolution.name
	}
	for _, c := range is.components {
		out.Components = append(out.Components, c.name)
	}
	for _, c := range is.comments {
		out.Comments = append(out.Comments, Comment{ID: c.id, Body: c.body, Created: c.created})
	}
	for _, l := range is.links {
		out.Links = append(out.Links, Link{Type: l.typ.name, Direction: l.direction, Key: l.other.key})
	}
	for _, a := range is.attachments {
		out.Attachments = append(out.Attachments, a.copy())
	}
	return out
}
