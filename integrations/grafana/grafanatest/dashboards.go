package grafanatest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The handlers; they run under s.mu.

// getDashboard answers GET /api/dashboards/uid/:uid in the shape Grafana's
// pkg/api/dashboard.go (GetDashboard) gives it: the JSON model under
// "dashboard", and "meta" with url, slug and the folder.
func (s *Server) getDashboard(uid string) reply {
	d := s.dashboardByUID(uid)
	if d == nil {
		return message(http.StatusNotFound, "Dashboard not found")
	}
	if d.Restricted {
		return message(http.StatusForbidden, "Access denied to this dashboard")
	}
	meta := map[string]any{
		"type":        "db",
		"canSave":     false,
		"canEdit":     false,
		"canAdmin":    false,
		"canStar":     true,
		"canDelete":   false,
		"slug":        d.Slug,
		"url":         s.dashboardURL(d),
		"expires":     "0001-01-01T00:00:00Z",
		"created":     d.created.Format("2006-01-02T15:04:05Z07:00"),
		"updated":     d.created.Format("2006-01-02T15:04:05Z07:00"),
		"updatedBy":   "admin",
		"createdBy":   "admin",
		"version":     d.version,
		"hasAcl":      false,
		"isFolder":    false,
		"folderId":    0,
		"folderTitle": "General",
		"provisioned": false,
	}
	if f := s.folderByTitle(d.Folder); f != nil {
		meta["folderId"] = f.id
		meta["folderUid"] = f.uid
		meta["folderTitle"] = f.title
		meta["folderUrl"] = s.folderURL(f)
	}
	return reply{status: http.StatusOK, body: map[string]any{
		"dashboard": map[string]any{
			"id":            d.id,
			"uid":           d.UID,
			"title":         d.Title,
			"tags":          nonNil(d.Tags),
			"timezone":      "browser",
			"schemaVersion": 39,
			"version":       d.version,
			"panels":        []any{},
			"templating":    map[string]any{"list": []any{}},
			"time":          map[string]any{"from": "now-6h", "to": "now"},
		},
		"meta": meta,
	}}
}

// searchParams are the /api/search parameters the fake models; Grafana
// has more (dashboardIds, folderIds, starred=true, sort, permission,
// deleted), which the fake refuses rather than ignores.
var searchParams = []string{"query", "tag", "type", "limit", "page", "dashboardUIDs", "folderUIDs", "starred"}

// search answers GET /api/search as pkg/api/search.go and the SQL search
// store do: tags AND-ed (HAVING COUNT(dashboard.id) >= len(tags)), type
// dash-db or dash-folder (any other type filters nothing), query as a
// case-insensitive substring of the title, limit 1000 by default or when
// invalid and 422 above 5000, page from 1, results by title.
func (s *Server) search(q url.Values) reply {
	for name := range q {
		if !slices.Contains(searchParams, name) {
			return message(http.StatusBadRequest, fmt.Sprintf("grafanatest: search parameter %q is not modelled", name))
		}
	}
	if v := q.Get("starred"); v != "" && v != "false" {
		return message(http.StatusBadRequest, "grafanatest: starred=true is not modelled (no board is starred)")
	}
	limit := queryInt64(q, "limit")
	if limit > maxSearchLimit {
		return message(http.StatusUnprocessableEntity, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit")
	}
	if limit < 1 {
		limit = defaultSearchLimit
	}
	page := max(queryInt64(q, "page"), 1)
	tags := q["tag"]
	title := strings.ToLower(q.Get("query"))
	uids := q["dashboardUIDs"]
	folderUIDs := q["folderUIDs"]
	typ := q.Get("type")

	type hit struct {
		title, uid string
		body       map[string]any
	}
	var hits []hit
	if typ != "dash-folder" {
		for _, d := range s.dashboards {
			if d.Restricted || !strings.Contains(strings.ToLower(d.Title), title) ||
				!hasAll(d.Tags, tags) || len(uids) > 0 && !slices.Contains(uids, d.UID) {
				continue
			}
			f := s.folderByTitle(d.Folder)
			if len(folderUIDs) > 0 && (f == nil || !slices.Contains(folderUIDs, f.uid)) {
				continue
			}
			body := map[string]any{
				"id":        d.id,
				"uid":       d.UID,
				"orgId":     1,
				"title":     d.Title,
				"uri":       "db/" + d.Slug,
				"url":       s.dashboardURL(d),
				"slug":      "",
				"type":      "dash-db",
				"tags":      nonNil(d.Tags),
				"isStarred": false,
				"sortMeta":  0,
			}
			if f != nil {
				body["folderId"] = f.id
				body["folderUid"] = f.uid
				body["folderTitle"] = f.title
				body["folderUrl"] = s.folderURL(f)
			}
			hits = append(hits, hit{d.Title, d.UID, body})
		}
	}
	// A folder carries no tags, so any tag filter leaves folders out.
	if typ != "dash-db" && len(tags) == 0 && len(uids) == 0 {
		for _, f := range s.folders {
			if !strings.Contains(strings.ToLower(f.title), title) || len(folderUIDs) > 0 {
				continue
			}
			hits = append(hits, hit{f.title, f.uid, map[string]any{
				"id":        f.id,
				"uid":       f.uid,
				"orgId":     1,
				"title":     f.title,
				"uri":       "db/" + f.slug,
				"url":       s.folderURL(f),
				"slug":      "",
				"type":      "dash-folder",
				"tags":      []string{},
				"isStarred": false,
				"sortMeta":  0,
			}})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if c := strings.Compare(strings.ToLower(a.title), strings.ToLower(b.title)); c != 0 {
			return c
		}
		return strings.Compare(a.uid, b.uid)
	})
	out := []map[string]any{}
	start := int64(len(hits))
	if page-1 < start { // limit ≥ 1, so a later page starts past the end
		start = min((page-1)*limit, start)
	}
	for i := start; i < int64(len(hits)) && i < start+limit; i++ {
		out = append(out, hits[i].body)
	}
	return reply{status: http.StatusOK, body: out}
}

// State helpers; callers hold s.mu.

func (s *Server) dashboardByUID(uid string) *dashboard {
	for _, d := range s.dashboards {
		if d.UID == uid {
			return d
		}
	}
	return nil
}

func (s *Server) folderByTitle(title string) *folder {
	if title == "" {
		return nil
	}
	for _, f := range s.folders {
		if f.title == title {
			return f
		}
	}
	return nil
}

func (s *Server) dashboardURL(d *dashboard) string {
	return s.subPath + "/d/" + d.UID + "/" + d.Slug
}

func (s *Server) folderURL(f *folder) string {
	return s.subPath + "/dashboards/f/" + f.uid + "/" + f.slug
}

// queryInt64 reads an integer parameter as Grafana's c.QueryInt64 does:
// anything that does not parse is 0.
func queryInt64(q url.Values, name string) int64 {
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func hasAll(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return slices.Clone(tags)
}
