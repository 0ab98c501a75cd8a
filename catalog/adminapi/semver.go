package adminapi

import (
	"strconv"
	"strings"
)

// newer reports whether semantic version a takes precedence over b when a
// module is referenced without a version: releases beat pre-releases, then
// the higher version wins. Build metadata is ignored.
func newer(a, b string) bool {
	ca, pa := splitSemver(a)
	cb, pb := splitSemver(b)
	if (pa == "") != (pb == "") {
		return pa == ""
	}
	for i := range 3 {
		if ca[i] != cb[i] {
			return ca[i] > cb[i]
		}
	}
	return comparePre(pa, pb) > 0
}

func splitSemver(v string) ([3]uint64, string) {
	v, _, _ = strings.Cut(v, "+")
	core, pre, _ := strings.Cut(v, "-")
	var out [3]uint64
	for i, p := range strings.SplitN(core, ".", 3) {
		out[i], _ = strconv.ParseUint(p, 10, 64)
	}
	return out, pre
}

// comparePre compares pre-release strings by semver precedence rules.
func comparePre(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, ex := strconv.ParseUint(as[i], 10, 64)
		y, ey := strconv.ParseUint(bs[i], 10, 64)
		switch {
		case ex == nil && ey == nil:
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		case ex == nil:
			return -1
		case ey == nil:
			return 1
		default:
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return len(as) - len(bs)
}
