package abi_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// abiMD returns ABI.md with "\|" (a pipe inside a table cell) unescaped.
func abiMD(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), `\|`, "|")
}

// section returns the text of the section whose heading starts with
// prefix, up to the next heading of the same level.
func section(t *testing.T, md, prefix string) string {
	t.Helper()
	i := strings.Index(md, "\n"+prefix)
	if i < 0 {
		t.Fatalf("ABI.md has no section %q", prefix)
	}
	rest := md[i+1:]
	level := prefix[:strings.IndexByte(prefix, ' ')+1]
	if j := strings.Index(rest[1:], "\n"+level); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

// TestLimitsTableMatchesCode: §11 names every abi limit with its value, and
// nothing else.
func TestLimitsTableMatchesCode(t *testing.T) {
	md := section(t, abiMD(t), "## 11.")
	row := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| ([0-9]+) \\|")
	doc := map[string]int64{}
	var order []string
	for _, m := range row.FindAllStringSubmatch(md, -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		if _, dup := doc[m[1]]; dup {
			t.Errorf("ABI.md §11 lists %s twice", m[1])
		}
		doc[m[1]] = v
		order = append(order, m[1])
	}
	code := abi.Limits()
	for i, l := range code {
		v, ok := doc[l.Name]
		switch {
		case !ok:
			t.Errorf("abi.%s = %d is missing from ABI.md §11", l.Name, l.Value)
		case v != l.Value:
			t.Errorf("abi.%s: ABI.md §11 says %d, abi says %d", l.Name, v, l.Value)
		case i < len(order) && order[i] != l.Name:
			t.Errorf("ABI.md §11 row %d is %s, abi.Limits() has %s", i+1, order[i], l.Name)
		}
		delete(doc, l.Name)
	}
	for name := range doc {
		t.Errorf("ABI.md §11 lists %s, which abi.Limits() does not", name)
	}
}

// signature parses "(ctx, key, key_len, delta i64) → status" into a
// Signature.
func signature(params, result string) abi.Signature {
	var s abi.Signature
	params = strings.TrimSpace(params)
	if params != "" {
		for _, p := range strings.Split(params, ",") {
			if strings.HasSuffix(strings.TrimSpace(p), " i64") {
				s.Params = append(s.Params, abi.I64)
			} else {
				s.Params = append(s.Params, abi.I32)
			}
		}
	}
	if strings.TrimSpace(result) == "i64" {
		s.Results = []abi.ValType{abi.I64}
	} else {
		s.Results = []abi.ValType{abi.I32}
	}
	return s
}

func sameSig(a, b abi.Signature) bool {
	return string(vt(a.Params)) == string(vt(b.Params)) && string(vt(a.Results)) == string(vt(b.Results))
}

func vt(v []abi.ValType) []byte {
	b := make([]byte, len(v))
	for i, t := range v {
		b[i] = byte(t)
	}
	return b
}

// TestHostFunctionsMatchCode: every host function abi lists is documented in
// §5 with its exact signature, and §5 documents no other.
func TestHostFunctionsMatchCode(t *testing.T) {
	md := section(t, abiMD(t), "## 5.")
	// A table row: | `name` | `(params) → result` | or | `name` | same |;
	// a line: `name(params) → result`.
	rowRe := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (?:`\\(([^)]*)\\) → ([^`]+)`|same) \\|")
	lineRe := regexp.MustCompile("(?m)^`([a-z_]+)\\(([^)]*)\\) → ([^`]+)`")
	doc := map[string]abi.Signature{}
	var prev abi.Signature
	for _, m := range rowRe.FindAllStringSubmatch(md, -1) {
		if strings.Contains(m[0], "| same |") {
			doc[m[1]] = prev
			continue
		}
		prev = signature(m[2], m[3])
		doc[m[1]] = prev
	}
	for _, m := range lineRe.FindAllStringSubmatch(md, -1) {
		doc[m[1]] = signature(m[2], m[3])
	}
	for _, f := range abi.HostFuncs() {
		sig, ok := doc[f.Name]
		switch {
		case !ok:
			t.Errorf("host function %s is not documented in ABI.md §5", f.Name)
		case !sameSig(sig, f.Sig):
			t.Errorf("%s: ABI.md §5 has params %v results %v, abi has %v %v", f.Name, sig.Params, sig.Results, f.Sig.Params, f.Sig.Results)
		}
		delete(doc, f.Name)
	}
	for name := range doc {
		t.Errorf("ABI.md §5 documents %s, which abi.HostFuncs() does not list", name)
	}
}

// TestStatusesMatchCode: §6's table gives each status its value.
func TestStatusesMatchCode(t *testing.T) {
	md := section(t, abiMD(t), "## 6.")
	code := map[string]int32{
		"OK": abi.OK, "ErrNotFound": abi.ErrNotFound, "ErrInvalid": abi.ErrInvalid, "ErrPhase": abi.ErrPhase,
		"ErrTooLarge": abi.ErrTooLarge, "ErrUnavail": abi.ErrUnavail, "ErrLimit": abi.ErrLimit,
	}
	row := regexp.MustCompile("(?m)^\\| (−?[0-9]+) \\| `(\\w+)` \\|")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(md, -1) {
		v, err := strconv.Atoi(strings.Replace(m[1], "−", "-", 1))
		if err != nil {
			t.Fatal(err)
		}
		want, ok := code[m[2]]
		if !ok {
			t.Errorf("ABI.md §6 lists %s, unknown to abi", m[2])
			continue
		}
		if int32(v) != want {
			t.Errorf("%s: ABI.md says %d, abi says %d", m[2], v, want)
		}
		seen[m[2]] = true
	}
	for name := range code {
		if !seen[name] {
			t.Errorf("status %s is missing from ABI.md §6", name)
		}
	}
	jwt := regexp.MustCompile("(?m)^\\| (−[0-9]+)…(−[0-9]+) \\| `ErrJWT\\*`")
	m := jwt.FindStringSubmatch(md)
	if m == nil {
		t.Fatal("ABI.md §6 has no ErrJWT* row")
	}
	lo, _ := strconv.Atoi(strings.Replace(m[1], "−", "-", 1))
	hi, _ := strconv.Atoi(strings.Replace(m[2], "−", "-", 1))
	if int32(lo) != abi.ErrJWTFormat || int32(hi) != abi.ErrJWTKeys {
		t.Errorf("ErrJWT*: ABI.md says %d…%d, abi says %d…%d", lo, hi, abi.ErrJWTFormat, abi.ErrJWTKeys)
	}
}

// TestCapabilitiesAndVersionMatchCode: §7 names exactly the capability
// groups of abi.HostFuncs(); §1's minor table ends at abi.Minor; the module
// and marker names are abi's.
func TestCapabilitiesAndVersionMatchCode(t *testing.T) {
	md := abiMD(t)
	caps := map[string]bool{}
	for _, f := range abi.HostFuncs() {
		caps[f.Cap] = true
	}
	s7 := section(t, md, "## 7.")
	para := s7[:strings.Index(s7, "`gatehouse plugin validate`")]
	doc := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z]+)`").FindAllStringSubmatch(para, -1) {
		doc[m[1]] = true
	}
	for c := range caps {
		if !doc[c] {
			t.Errorf("capability %s is missing from ABI.md §7", c)
		}
	}
	for c := range doc {
		if !caps[c] {
			t.Errorf("ABI.md §7 names %s, which no host function has", c)
		}
	}
	s1 := section(t, md, "## 1.")
	max := -1
	for _, m := range regexp.MustCompile(`(?m)^\| ([0-9]+) \|`).FindAllStringSubmatch(s1, -1) {
		v, _ := strconv.Atoi(m[1])
		max = v
	}
	if max != abi.Minor {
		t.Errorf("ABI.md §1's newest minor is %d, abi.Minor is %d", max, abi.Minor)
	}
	for _, name := range []string{abi.HostModule, abi.ExportVersion, abi.ExportOnRequest, abi.ExportOnResponse} {
		if !strings.Contains(md, "`"+name+"`") {
			t.Errorf("ABI.md never names %s", name)
		}
	}
}
