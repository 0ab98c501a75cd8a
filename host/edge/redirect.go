package edge

import (
	"net/http"
	"strings"
)

// RedirectHTTPS answers every request with 308 Permanent Redirect to the
// same path and query over https (--https-redirect). httpsPort is the
// port of the TLS listener; it is left out of the URL when it is 443.
// hostnames, when enabled, limits the redirect to the gateway's own names
// (another Host gets 421, as on the gateway itself), so the gateway never
// sends a client to a host it does not serve. 308 rather than 301 keeps the
// method and body of a POST.
func RedirectHTTPS(httpsPort string, hostnames *Hostnames) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := splitHostPort(r.Host)
		if ok {
			host, ok = normHost(host)
		}
		if !ok {
			http.Error(w, "Bad request: missing or invalid Host", http.StatusBadRequest)
			return
		}
		if hostnames.Enabled() {
			if _, ok := hostnames.Match(r.Host); !ok {
				http.Error(w, "Misdirected request: unknown host", http.StatusMisdirectedRequest)
				return
			}
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		p := r.URL.EscapedPath()
		if !strings.HasPrefix(p, "/") {
			p = "/"
		}
		target := "https://" + host + p
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}
