package httpapi

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// jsonContentType checks that r declares a JSON body: the media type
// application/json, in any case, parameters such as charset allowed. A web
// page can make a browser send a cross-site POST without asking the server
// first (a CORS preflight) only with no type, text/plain or a form type;
// insisting on JSON keeps such a page from writing through the API, the
// webhooks or the deploy records. With bare, a request that declares no
// type at all passes (Argo CD's webhook sends none). It returns "" when r
// passes, else the reason, for a 415.
func jsonContentType(r *http.Request, bare bool) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if bare {
			return ""
		}
		return "no content type; want application/json"
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return ""
	}
	return fmt.Sprintf("content type %q; want application/json", cut(ct, 100))
}

// cut shortens s to at most n bytes for a message, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// LoopbackGuard protects a warroom without webhook credentials, which
// listens on loopback only, from the browser on the same machine: any web
// page can make the browser send requests to 127.0.0.1. It refuses
//   - a Host that is not a loopback name or address on the port the request
//     came in on (421): with DNS rebinding, a page's own name resolves to
//     127.0.0.1, and the browser then lets the page read the answers;
//   - a request that says it comes from another site: Sec-Fetch-Site other
//     than same-origin or none, or an Origin that is not the Host (403).
//
// The exempt paths pass unchecked: Slack's endpoints are left to their
// signatures, since Slack's servers (or a tunnel to them) send a public
// Host.
func LoopbackGuard(next http.Handler, exempt ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(exempt, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if why := loopbackHost(r); why != "" {
			writeError(w, http.StatusMisdirectedRequest, why)
			return
		}
		if why := crossSite(r); why != "" {
			writeError(w, http.StatusForbidden, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost returns "" when r's Host is localhost or a loopback IP
// address, on the port of the connection it came in on (no port: 80),
// else the reason. A name nobody controls but this machine cannot be
// rebound by a web page's DNS.
func loopbackHost(r *http.Request) string {
	host, port := r.Host, ""
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		host, port = h, p
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if port == "" {
		port = "80"
	}
	want := ""
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(la.String()); err == nil {
			want = p
		}
	}
	ip := net.ParseIP(host)
	if (strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()) && (want == "" || port == want) {
		return ""
	}
	return fmt.Sprintf("host %q is not this server: without webhook credentials warroom answers only requests to localhost, 127.0.0.1 or [::1] on port %s (a guard against DNS rebinding)", cut(r.Host, 100), want)
}

// crossSite returns "" unless r says that a page of another origin made
// the browser send it, else the reason. Clients other than browsers send
// neither header.
func crossSite(r *http.Request) string {
	if site := strings.ToLower(r.Header.Get("Sec-Fetch-Site")); site != "" && site != "same-origin" && site != "none" {
		return fmt.Sprintf("refused a %s request from a browser: without webhook credentials warroom answers no request a web page made", cut(site, 20))
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Sprintf("refused a request from origin %q: without webhook credentials warroom answers no request a web page of another origin made", cut(o, 100))
		}
	}
	return ""
}
