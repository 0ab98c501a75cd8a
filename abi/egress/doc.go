// Package egress is Gatehouse's one egress rule, in its pure part: the
// syntax of a destination URL (every literal address form normalized or
// refused), the class of an address (loopback, private, link-local,
// metadata, …) and admin allow-lists. The catalog, the YAML config, the
// engine's set_field, the sdktest emulator and the gateway's redirects all
// check URLs here; host/egress applies the same Scope at dial time to every
// address a name resolves to.
//
// It imports only the standard library and holds no mutable state.
package egress
