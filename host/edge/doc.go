// Package edge is the request-edge hygiene Gatehouse applies exactly once,
// before routing. Everything here faces untrusted input, so every function
// is written to fail closed: when a request is ambiguous it is rejected,
// never guessed at.
//
// # One canonical path
//
// Routing, access policies, cache keys, metrics labels and the request that
// is forwarded upstream must all agree on the same path. If any two of them
// see a different spelling of it, a client can pick a spelling that one
// component reads as a public route and another as a protected one (the
// classic "/public/..%2Fadmin" policy bypass), or poison a cache entry for a
// path it does not control. [CanonicalPath] therefore turns the path as the
// client sent it into one decoded, normalized form; the gateway uses only
// that form from then on, and [EscapePath] re-encodes it for the upstream
// request, so what the backend receives decodes to exactly what the gateway
// checked.
//
// The rules, and why each exists:
//
//   - The path must start with "/". Anything else (an empty path, "*",
//     a relative or absolute-form target) has no meaning for routing and is
//     handled, if at all, before this package.
//   - Percent escapes must be well formed. Backends disagree about what a
//     stray "%" or "%zz" means (kept literally, dropped, or an error), so
//     there is no single answer to agree on.
//   - An encoded slash (%2F) is rejected. Some backends decode it into a
//     separator and some keep it as a byte inside a segment, so "/a%2Fb" is
//     one segment to one component and two to another: an ambiguity that
//     cannot be resolved in a way every backend will share.
//   - A backslash, raw or encoded as %5C, is rejected because some backends
//     and frameworks (IIS, Windows file servers, several URL libraries that
//     follow the WHATWG URL standard) normalize it to "/", which turns
//     "/a\..\admin" into "/admin" behind the gateway's back.
//   - NUL (raw or %00) and every other control byte (0x00-0x1F and 0x7F, raw
//     or encoded) are rejected. NUL truncates strings in C-based backends and
//     file systems; CR and LF enable header and log injection; none has a
//     legitimate use in a path.
//   - Dot segments "." and ".." are resolved as in RFC 3986 section 5.2.4,
//     including their encoded spellings (%2e, %2E%2e, ...), because many
//     backends decode before resolving them. A ".." that would climb above
//     the root is an error rather than being clamped to "/": no honest
//     client sends one, and a clamped path would be a second spelling of
//     another path.
//   - A segment that is "." or ".." followed by ";" (such as "..;" or
//     ".;jsessionid=x") is rejected. Servlet containers such as Tomcat strip
//     ";"-parameters from each segment before resolving dot segments, so
//     "/public/..;/admin" would reach them as "/admin".
//   - Runs of slashes collapse to one, because many backends (nginx with
//     merge_slashes, most frameworks) do so and others do not; collapsing
//     at the edge gives everyone the same segment list. Collapsing happens
//     before dot segments are resolved, so "/a//../b" is "/b", which is also
//     what path.Clean and nginx produce.
//   - A trailing slash is kept: "/a/" and "/a" are different resources to
//     many backends, and the difference is not ambiguous.
//   - The decoded path must be valid UTF-8. Overlong and otherwise invalid
//     sequences (such as %C0%AF, an overlong "/") are decoded differently by
//     lenient decoders and are a well-known filter bypass.
//   - The decoded path is capped at 8192 bytes to bound the work and memory
//     spent on one request before any policy has run.
//
// Every rejection wraps the single sentinel [ErrBadPath] with a short,
// fixed reason. The reason never contains any part of the input, so it is
// safe to send to the client.
//
// # Identity headers
//
// Headers such as X-Forwarded-For, Forwarded, X-Real-IP and the gateway's
// own X-Gatehouse-* headers carry facts that only the gateway knows: the
// client's address, the original scheme and host, the authenticated
// subscription. A client that sends them itself could spoof its address
// past IP allow-lists and rate limits, or impersonate a subscription, if
// any backend trusted them. [StripIdentityHeaders] removes them from the
// incoming request before the gateway sets its own values.
//
// Names are compared case-insensitively and with "_" treated as "-".
// nginx (with underscores_in_headers on), CGI and everything built on it
// (PHP, WSGI, Rack via CGI-style environments) map both "X-Forwarded-For"
// and "X_Forwarded_For" to the same variable (HTTP_X_FORWARDED_FOR), and
// which of the two wins depends on header order. Go's net/http keeps an underscore name as a
// separate key (it canonicalizes "X_Forwarded_For" to "X_forwarded_for"),
// so removing only the canonical hyphenated key would let the underscore
// variant through. X-Request-Id is deliberately not stripped: clients may
// propose one and the gateway decides whether to keep it.
//
// # Client address and server limits
//
// [ClientIP] extracts the peer address from http.Request.RemoteAddr.
// [Proxies] is the edge model of who the client is: the peer, unless it is a
// configured trusted proxy, in which case the forwarding header
// (X-Forwarded-For or RFC 7239 Forwarded) is walked from the right and the
// first address that is not a trusted proxy is the client; a malformed entry
// stops the walk at the nearest trusted hop. The gateway resolves it once,
// before [StripIdentityHeaders]. [Hostnames] is the configured list of names
// the gateway is served under. [NewServer] builds the
// listening http.Server with timeouts and header limits suited to an
// internet-facing gateway; see [DefaultServerOptions] for the reasoning
// behind each value.
package edge
