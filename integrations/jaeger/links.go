package jaeger

import (
	"net/url"
	"strconv"
	"time"
)

// Links into the Jaeger UI.
//
// Checked against jaeger-ui (packages/jaeger-ui/src/components/SearchTracePage/SearchForm.tsx,
// https://github.com/jaegertracing/jaeger-ui): the search page reads
// service, start and end (µs since the epoch), limit, lookback and tags
// from its URL, tags being a JSON object of strings (convTagsLogfmt turns
// the form's logfmt into JSON.stringify(data); mapStateToProps reads it
// back with JSON.parse). Without lookback the form shows its default "Last
// Hour" while the results are those of start and end, so the link says
// lookback=custom. A trace's page is /trace/<traceID>.

// searchLimit is the limit a search link asks for; the UI's default is 20.
const searchLimit = 20

// TraceURL is the UI page of a trace: <base>/trace/<id>.
func (c *Client) TraceURL(traceID string) string {
	return c.base + "/trace/" + url.PathEscape(traceID)
}

// SearchURL is the UI search for the failing traces of service in
// [start, end]: <base>/search?service=…&start=µs&end=µs&lookback=custom&tags={"error":"true"}&limit=20,
// each value query-escaped.
func (c *Client) SearchURL(service string, start, end time.Time) string {
	return c.base + "/search" +
		"?service=" + url.QueryEscape(service) +
		"&start=" + strconv.FormatInt(start.UnixMicro(), 10) +
		"&end=" + strconv.FormatInt(end.UnixMicro(), 10) +
		"&lookback=custom" +
		"&tags=" + url.QueryEscape(v1Tags) +
		"&limit=" + strconv.Itoa(searchLimit)
}
