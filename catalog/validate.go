package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/abi/egress"
)

// Bounds enforced by validation.
const (
	MaxNameLen        = 256
	MaxIDLen          = 80
	MaxDescriptionLen = 4096
	MaxPathPrefixLen  = 256
	MaxURLLen         = 2048
	MaxTemplateLen    = 1024
	MaxNamedValueLen  = 64 << 10
	MaxPolicyEntries  = 64
)

var (
	idRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	segmentRe   = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	headerRe    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	paramRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	semverRe    = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	moduleRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	namedValRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	hexSHA256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
	capRe       = regexp.MustCompile(`^[a-z][a-z0-9_.:-]*$`)
)

// methods lists the HTTP methods an operation may use.
var methods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true, "TRACE": true,
}

// ValidateID checks an entity identifier: 1..MaxIDLen characters of
// [A-Za-z0-9._-], starting with a letter or digit.
func ValidateID(path, id string) error {
	if id == "" {
		return fieldErr(path, "must not be empty")
	}
	if len(id) > MaxIDLen {
		return fieldErr(path, "longer than %d characters", MaxIDLen)
	}
	if !idRe.MatchString(id) {
		return fieldErr(path, "may contain only letters, digits, '.', '_' and '-' and must start with a letter or digit")
	}
	return nil
}

// ValidateName checks a display name: non-empty after trimming, at most
// MaxNameLen characters, valid UTF-8 and free of control characters.
func ValidateName(path, name string) error {
	return validateText(path, name, MaxNameLen, true)
}

func validateText(path, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fieldErr(path, "must not be empty")
	}
	if !utf8.ValidString(s) {
		return fieldErr(path, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fieldErr(path, "longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(max > MaxNameLen && (r == '\n' || r == '\t' || r == '\r')) {
			return fieldErr(path, "contains control characters")
		}
	}
	return nil
}

// ValidatePathPrefix checks an API path prefix: it starts with '/', has no
// trailing '/' (except the root "/"), no empty, "." or ".." segments, and
// only unreserved URL characters.
func ValidatePathPrefix(path, p string) error {
	if p == "" {
		return fieldErr(path, "must not be empty")
	}
	if len(p) > MaxPathPrefixLen {
		return fieldErr(path, "longer than %d characters", MaxPathPrefixLen)
	}
	if p[0] != '/' {
		return fieldErr(path, "must start with '/'")
	}
	if p == "/" {
		return nil
	}
	if strings.HasSuffix(p, "/") {
		return fieldErr(path, "must not end with '/'")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return fieldErr(path, "must not contain empty segments")
		case seg == "." || seg == "..":
			return fieldErr(path, "must not contain '.' or '..' segments")
		case !segmentRe.MatchString(seg):
			return fieldErr(path, "segment %q may contain only letters, digits and '-', '.', '_', '~'", seg)
		}
	}
	return nil
}

// ValidateBackendURL checks an API's backend URL with the egress rule
// (abi/egress.CheckBackend) and no allow-list: absolute http or https, a
// host in canonical form (inet_aton forms such as 2852039166 are refused,
// naming the address they mean), no user info, query or fragment; an IP
// literal may be loopback or private (the admin chose it) but not
// link-local, metadata, unspecified, multicast or broadcast. Host names are
// resolved and checked when the gateway connects, not here.
func ValidateBackendURL(path, raw string) error {
	return validateBackend(path, raw, egress.AllowList{})
}

func validateBackend(path, raw string, allow egress.AllowList) error {
	if raw == "" {
		return fieldErr(path, "must not be empty")
	}
	if _, err := egress.CheckBackend(raw, allow); err != nil {
		return fieldErr(path, "%s", strings.TrimPrefix(err.Error(), egress.ErrInvalidURL.Error()+": "))
	}
	return nil
}

// ValidateEgressAllow checks an egress allow-list (abi/egress entries).
func ValidateEgressAllow(path string, entries []string) (egress.AllowList, error) {
	al, err := egress.ParseAllowList(entries)
	if err != nil {
		return egress.AllowList{}, fieldErr(path, "%v", err)
	}
	return al, nil
}

// ValidateMethod checks an HTTP method of an operation (upper case).
func ValidateMethod(path, m string) error {
	if !methods[m] {
		return fieldErr(path, "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE")
	}
	return nil
}

// ValidateURLTemplate checks an operation URL template such as
// "/users/{id}/orders": it starts with '/', parameters are well-formed
// "{name}" segments or segment parts, and no parameter repeats.
func ValidateURLTemplate(path, t string) error {
	if t == "" || t[0] != '/' {
		return fieldErr(path, "must start with '/'")
	}
	if len(t) > MaxTemplateLen {
		return fieldErr(path, "longer than %d characters", MaxTemplateLen)
	}
	if strings.ContainsAny(t, "?# \t\r\n") {
		return fieldErr(path, "must not contain a query, fragment or whitespace")
	}
	seen := map[string]bool{}
	rest := t
	for {
		open := strings.IndexByte(rest, '{')
		if cl := strings.IndexByte(rest, '}'); cl >= 0 && (open < 0 || cl < open) {
			return fieldErr(path, "unbalanced '}'")
		}
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return fieldErr(path, "unbalanced '{'")
		}
		name := rest[open+1 : open+end]
		if !paramRe.MatchString(name) {
			return fieldErr(path, "bad parameter name %q", name)
		}
		if seen[name] {
			return fieldErr(path, "parameter %q repeats", name)
		}
		seen[name] = true
		rest = rest[open+end+1:]
	}
	return nil
}

// ValidateHeaderName checks an HTTP header field name.
func ValidateHeaderName(path, h string) error {
	if h == "" || len(h) > 128 || !headerRe.MatchString(h) {
		return fieldErr(path, "must be a valid HTTP header name of at most 128 characters")
	}
	return nil
}

// ValidateScope checks a subscription scope and its ID.
func ValidateScope(path string, s Scope, id string) error {
	switch s {
	case ScopeAll:
		if id != "" {
			return fieldErr(path+"Id", "must be empty for scope %q", s)
		}
		return nil
	case ScopeProduct, ScopeAPI:
		return ValidateID(path+"Id", id)
	}
	return fieldErr(path, "must be one of all, product, api")
}

// ValidatePolicyScope checks a policy document scope and its ID.
func ValidatePolicyScope(path string, s Scope, id string) error {
	switch s {
	case ScopeGlobal:
		if id != "" {
			return fieldErr(path+"Id", "must be empty for scope %q", s)
		}
		return nil
	case ScopeProduct, ScopeAPI, ScopeOperation:
		return ValidateID(path+"Id", id)
	}
	return fieldErr(path, "must be one of global, product, api, operation")
}

// Valid reports whether s is a known subscription state.
func (s SubscriptionState) Valid() bool {
	switch s {
	case StateSubmitted, StateActive, StateSuspended, StateCancelled, StateExpired:
		return true
	}
	return false
}

// Valid reports whether k is SlotPrimary or SlotSecondary.
func (k KeySlot) Valid() bool { return k == SlotPrimary || k == SlotSecondary }

// ApplyDefaults fills the key carrier names and the revision.
func (a *API) ApplyDefaults() {
	if a.KeyHeader == "" {
		a.KeyHeader = DefaultKeyHeader
	}
	if a.KeyQuery == "" {
		a.KeyQuery = DefaultKeyQuery
	}
	if a.Revision == 0 {
		a.Revision = 1
	}
}

// Validate checks every field of the API. Call ApplyDefaults first.
func (a *API) Validate() error {
	if err := ValidateID("id", a.ID); err != nil {
		return err
	}
	if err := ValidateName("name", a.Name); err != nil {
		return err
	}
	if err := ValidatePathPrefix("pathPrefix", a.PathPrefix); err != nil {
		return err
	}
	allow, err := ValidateEgressAllow("egressAllow", a.EgressAllow)
	if err != nil {
		return err
	}
	if err := validateBackend("backendUrl", a.BackendURL, allow); err != nil {
		return err
	}
	if a.Version != "" {
		if err := ValidateID("version", a.Version); err != nil {
			return err
		}
	}
	if a.Revision < 1 {
		return fieldErr("revision", "must be at least 1")
	}
	if len(a.OpenAPIDoc) > 16<<20 {
		return fieldErr("openApiDoc", "larger than 16 MiB")
	}
	if err := ValidateHeaderName("keyHeader", a.KeyHeader); err != nil {
		return err
	}
	if a.KeyQuery == "" || len(a.KeyQuery) > 128 || !paramRe.MatchString(a.KeyQuery) {
		return fieldErr("keyQuery", "must be a query parameter name of letters, digits, '_' and '-'")
	}
	return a.ValidateTransport(a.BackendURL)
}

// Validate checks every field of the operation.
func (o *Operation) Validate() error {
	if err := ValidateID("id", o.ID); err != nil {
		return err
	}
	if err := ValidateID("apiId", o.APIID); err != nil {
		return err
	}
	if err := ValidateName("name", o.Name); err != nil {
		return err
	}
	if err := ValidateMethod("method", o.Method); err != nil {
		return err
	}
	return ValidateURLTemplate("urlTemplate", o.URLTemplate)
}

// Validate checks every field of the product.
func (p *Product) Validate() error {
	if err := ValidateID("id", p.ID); err != nil {
		return err
	}
	if err := ValidateName("name", p.Name); err != nil {
		return err
	}
	if err := validateText("description", p.Description, MaxDescriptionLen, false); err != nil {
		return err
	}
	if p.SubscriptionsLimit < 0 {
		return fieldErr("subscriptionsLimit", "must not be negative")
	}
	return nil
}

// Validate checks the link.
func (l *ProductAPI) Validate() error {
	if err := ValidateID("productId", l.ProductID); err != nil {
		return err
	}
	return ValidateID("apiId", l.APIID)
}

// Validate checks every field of the group.
func (g *Group) Validate() error {
	if err := ValidateID("id", g.ID); err != nil {
		return err
	}
	if err := ValidateName("name", g.Name); err != nil {
		return err
	}
	return validateText("description", g.Description, MaxDescriptionLen, false)
}

// ApplyDefaults sets an empty state to active.
func (u *User) ApplyDefaults() {
	if u.State == "" {
		u.State = UserActive
	}
}

// Validate checks every field of the user.
func (u *User) Validate() error {
	if err := ValidateID("id", u.ID); err != nil {
		return err
	}
	if len(u.Email) > 254 {
		return fieldErr("email", "longer than 254 characters")
	}
	addr, err := mail.ParseAddress(u.Email)
	if err != nil || addr.Address != u.Email || addr.Name != "" {
		return fieldErr("email", "must be a bare e-mail address")
	}
	if err := ValidateName("name", u.Name); err != nil {
		return err
	}
	switch u.State {
	case UserActive, UserBlocked, UserPending:
	default:
		return fieldErr("state", "must be one of active, blocked, pending")
	}
	return nil
}

// Validate checks every field of the subscription except CreatedAt. An
// empty State is accepted: stores choose it from the product's approval
// setting.
func (s *Subscription) Validate() error {
	if err := ValidateID("id", s.ID); err != nil {
		return err
	}
	if err := ValidateID("userId", s.UserID); err != nil {
		return err
	}
	if s.Name != "" {
		if err := ValidateName("name", s.Name); err != nil {
			return err
		}
	}
	if err := ValidateScope("scope", s.Scope, s.ScopeID); err != nil {
		return err
	}
	if s.State != "" && !s.State.Valid() {
		return fieldErr("state", "must be one of submitted, active, suspended, cancelled, expired")
	}
	return nil
}

// ValidateSemver checks a semantic version string.
func ValidateSemver(path, v string) error {
	if len(v) > 64 || !semverRe.MatchString(v) {
		return fieldErr(path, "must be a semantic version like 1.2.3")
	}
	return nil
}

// Validate checks every field of the module. An empty SHA256 is filled in
// from Wasm; a non-empty one must match it.
func (m *Module) Validate() error {
	if m.Name == "" || len(m.Name) > 128 || !moduleRe.MatchString(m.Name) {
		return fieldErr("name", "must be 1..128 characters of lowercase letters, digits, '.', '_' and '-'")
	}
	if err := ValidateSemver("version", m.Version); err != nil {
		return err
	}
	if len(m.Wasm) == 0 {
		return fieldErr("wasm", "must not be empty")
	}
	sum := sha256.Sum256(m.Wasm)
	got := hex.EncodeToString(sum[:])
	if m.SHA256 == "" {
		m.SHA256 = got
	} else if !hexSHA256Re.MatchString(m.SHA256) {
		return fieldErr("sha256", "must be 64 lowercase hex digits")
	} else if m.SHA256 != got {
		return fieldErr("sha256", "does not match the module bytes (got %s)", got)
	}
	mf := &m.Manifest
	if mf.ABIVersion < 1 {
		return fieldErr("manifest.abiVersion", "must be at least 1")
	}
	seen := map[string]bool{}
	for i, c := range mf.Capabilities {
		if !capRe.MatchString(c) || len(c) > 64 {
			return fieldErr(fmt.Sprintf("manifest.capabilities[%d]", i), "bad capability name %q", c)
		}
		if seen[c] {
			return fieldErr(fmt.Sprintf("manifest.capabilities[%d]", i), "capability %q repeats", c)
		}
		seen[c] = true
	}
	if len(mf.ConfigSchema) > 0 {
		var v map[string]any
		if err := json.Unmarshal(mf.ConfigSchema, &v); err != nil {
			return fieldErr("manifest.configSchema", "must be a JSON object")
		}
	}
	if len(mf.Egress) > 64 {
		return fieldErr("manifest.egress", "at most 64 destinations")
	}
	for i, d := range mf.Egress {
		if err := ValidateEgressDest(d); err != nil {
			return fieldErr(fmt.Sprintf("manifest.egress[%d]", i), "%v", err)
		}
	}
	if _, err := m.CheckGrant(m.Grant); err != nil {
		fe := err.(*FieldError)
		return fieldErr("grant."+fe.Path, "%s", fe.Msg)
	}
	pseen := map[string]bool{}
	for i, p := range mf.Policies {
		path := fmt.Sprintf("manifest.policies[%d]", i)
		if !moduleRe.MatchString(p.Name) || len(p.Name) > 128 {
			return fieldErr(path+".name", "must be 1..128 characters of lowercase letters, digits, '.', '_' and '-'")
		}
		if pseen[p.Name] {
			return fieldErr(path+".name", "policy %q repeats", p.Name)
		}
		pseen[p.Name] = true
		if p.Version != "" {
			if err := ValidateSemver(path+".version", p.Version); err != nil {
				return err
			}
		}
		if err := validateText(path+".description", p.Description, MaxDescriptionLen, false); err != nil {
			return err
		}
		if len(p.ConfigSchema) > 0 {
			var v map[string]any
			if err := json.Unmarshal(p.ConfigSchema, &v); err != nil {
				return fieldErr(path+".configSchema", "must be a JSON object")
			}
		}
	}
	if mf.Limits.MemoryPages < 0 || mf.Limits.MemoryPages > 65536 {
		return fieldErr("manifest.limits.memoryPages", "must be between 0 and 65536")
	}
	if mf.Limits.TimeoutMS < 0 {
		return fieldErr("manifest.limits.timeoutMs", "must not be negative")
	}
	if mf.Limits.Instances < 0 {
		return fieldErr("manifest.limits.instances", "must not be negative")
	}
	return nil
}

// ParseModuleRef splits a module reference "name" or "name@version".
func ParseModuleRef(ref string) (name, version string, err error) {
	name, version, _ = strings.Cut(ref, "@")
	if !moduleRe.MatchString(name) || len(name) > 128 {
		return "", "", fmt.Errorf("bad module name %q", name)
	}
	if strings.Contains(ref, "@") && !semverRe.MatchString(version) {
		return "", "", fmt.Errorf("bad module version %q", version)
	}
	return name, version, nil
}

// Validate checks the document's scope and every entry of every section.
func (d *PolicyDoc) Validate() error {
	if err := ValidatePolicyScope("scope", d.Scope, d.ScopeID); err != nil {
		return err
	}
	for _, sec := range []struct {
		name    string
		entries []PolicyEntry
	}{{"inbound", d.Inbound}, {"backend", d.Backend}, {"outbound", d.Outbound}, {"onError", d.OnError}} {
		if len(sec.entries) > MaxPolicyEntries {
			return fieldErr(sec.name, "more than %d entries", MaxPolicyEntries)
		}
		bases := 0
		for i, e := range sec.entries {
			p := fmt.Sprintf("%s[%d]", sec.name, i)
			if e.Base {
				bases++
				if d.Scope == ScopeGlobal {
					return fieldErr(p+".base", "the global scope has no parent")
				}
				if bases > 1 {
					return fieldErr(p+".base", "base may appear at most once per section")
				}
				if e.Module != "" || e.Policy != "" || len(e.Config) > 0 || e.FailMode != "" || e.Fallback != "" {
					return fieldErr(p, "a base entry has no other fields")
				}
				continue
			}
			if err := e.validate(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *PolicyEntry) validate(p string) error {
	if e.Module == "" {
		return fieldErr(p+".module", "must not be empty")
	}
	if _, _, err := ParseModuleRef(e.Module); err != nil {
		return fieldErr(p+".module", "%v", err)
	}
	if e.Policy != "" && (len(e.Policy) > 128 || !paramRe.MatchString(e.Policy)) {
		return fieldErr(p+".policy", "bad policy name %q", e.Policy)
	}
	if len(e.Config) > 0 && !json.Valid(e.Config) {
		return fieldErr(p+".config", "must be valid JSON")
	}
	switch e.FailMode {
	case "", FailClosed, FailOpen:
		if e.Fallback != "" {
			return fieldErr(p+".fallback", "only allowed with failMode %q", FailFallback)
		}
	case FailFallback:
		if _, _, err := ParseModuleRef(e.Fallback); err != nil {
			return fieldErr(p+".fallback", "%v", err)
		}
	default:
		return fieldErr(p+".failMode", "must be one of closed, open, fallback")
	}
	return nil
}

// Validate checks the named value.
func (n *NamedValue) Validate() error {
	if n.Name == "" || len(n.Name) > MaxNameLen || !namedValRe.MatchString(n.Name) {
		return fieldErr("name", "must be 1..%d characters of letters, digits, '.', '_' and '-'", MaxNameLen)
	}
	if len(n.Value) > MaxNamedValueLen {
		return fieldErr("value", "larger than %d bytes", MaxNamedValueLen)
	}
	if !utf8.ValidString(n.Value) {
		return fieldErr("value", "is not valid UTF-8")
	}
	return nil
}
