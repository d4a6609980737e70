package httpapi

import (
	"net/http"

	"github.com/warroom/warroom/incident"
)

// report answers GET /api/v1/report?since=30d: per service, the
// incidents opened within the window, their war rooms' times to
// acknowledge and to resolve, and how often the suspect deploy was rolled
// back (incident.Report). A window that is not days or a Go duration is
// 400, naming the forms.
func (a *API) report(w http.ResponseWriter, r *http.Request) error {
	window := incident.DefaultReportWindow
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := incident.ParseReportWindow(v)
		if err != nil {
			return incident.Errorf(incident.EINVALID, "since=%s", incident.ErrorMessage(err))
		}
		window = d
	}
	rep, err := a.svc.Report(r.Context(), window)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ReportView{Report: rep, Window: incident.FormatReportWindow(window)})
	return nil
}

// ReportView is the API's report: the window it covers, as asked, and
// the report.
type ReportView struct {
	Window string `json:"window"`
	*incident.Report
}
