package catalog

import "strings"

// ResolveModule finds the module version a reference ("name" or
// "name@version") names among mods, which must be in upload order (as
// ListModules returns them). A pinned version must match exactly. An
// unpinned reference prefers releases to pre-releases, then the highest
// SemVer precedence, and equal precedence (versions differing only in build
// metadata) goes to the later upload. The admin API (checking configs
// against a module's schema) and the gateway (running the module) both use
// it, so they always mean the same version.
func ResolveModule(mods []Module, ref string) (Module, bool) {
	name, version, err := ParseModuleRef(ref)
	if err != nil {
		return Module{}, false
	}
	var best *Module
	for i := range mods {
		m := &mods[i]
		if m.Name != name {
			continue
		}
		if version != "" {
			if m.Version == version {
				return *m, true
			}
			continue
		}
		if best == nil || preferred(m.Version, best.Version) {
			best = m
		}
	}
	if best == nil {
		return Module{}, false
	}
	return *best, true
}

// preferred reports whether an unpinned reference prefers version a to b
// (a uploaded after b).
func preferred(a, b string) bool {
	if ra, rb := isRelease(a), isRelease(b); ra != rb {
		return ra
	}
	return CompareSemver(a, b) >= 0
}

// isRelease reports whether v has no pre-release part.
func isRelease(v string) bool {
	v, _, _ = strings.Cut(v, "+")
	return !strings.Contains(v, "-")
}

// CompareSemver orders semantic versions by SemVer 2.0 precedence (build
// metadata ignored); strings that do not parse order before those that do.
func CompareSemver(a, b string) int {
	pa, oka := parseSemver(a)
	pb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := 0; i < 3; i++ {
		if c := compareNum(pa.core[i], pb.core[i]); c != 0 {
			return c
		}
	}
	switch {
	case pa.pre == nil && pb.pre == nil:
		return 0
	case pa.pre == nil:
		return 1
	case pb.pre == nil:
		return -1
	}
	for i := 0; i < len(pa.pre) && i < len(pb.pre); i++ {
		x, y := pa.pre[i], pb.pre[i]
		xn, yn := isNum(x), isNum(y)
		var c int
		switch {
		case xn && yn:
			c = compareNum(x, y)
		case xn:
			c = -1
		case yn:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return compareInt(len(pa.pre), len(pb.pre))
}

type semver struct {
	core [3]string
	pre  []string
}

func parseSemver(v string) (semver, bool) {
	var s semver
	v, _, _ = strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return s, false
	}
	for i, p := range parts {
		if !isNum(p) {
			return s, false
		}
		s.core[i] = p
	}
	if hasPre {
		s.pre = strings.Split(pre, ".")
		for _, id := range s.pre {
			if id == "" {
				return s, false
			}
		}
	}
	return s, true
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// compareNum compares decimal strings of any length numerically.
func compareNum(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := compareInt(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func compareInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
