package httpapi

import (
	"io"
	"net/http"

	"github.com/warroom/warroom/bot/render/postmortem"
	"github.com/warroom/warroom/incident"
)

// showPostmortem answers the draft of an incident's postmortem as it
// stands now (bot/render/postmortem), in Markdown: its whole timeline so
// far, its links only to the allowed hosts.
func (a *API) showPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := incident.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := a.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	alerts, err := a.store.Alerts(ctx, id, 0)
	if err != nil {
		return err
	}
	tl, err := a.store.Timeline(ctx, id)
	if err != nil {
		return err
	}
	md := postmortem.Render(postmortem.View{Incident: inc, Alerts: alerts, TotalAlerts: len(alerts), Timeline: tl, Hosts: a.linkHosts()})
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+id+`-postmortem.md"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, md) // a client gone away: nothing more to say
	return nil
}
