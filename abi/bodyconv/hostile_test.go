package bodyconv

import (
	"strings"
	"testing"
)

// TestHostileInputs: inputs built to hurt a parser get the reference's
// error (or a bounded result) without deep recursion or blow-up. The host
// runs these converters outside the sandbox.
func TestHostileInputs(t *testing.T) {
	const mib = 1 << 20
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`
	for _, c := range []struct {
		name, in, err string
		xml           bool
	}{
		{"1 MiB of [", strings.Repeat("[", mib), "exceeded max depth", false},
		{"1 MiB of nested arrays, closed", strings.Repeat("[", mib/2) + strings.Repeat("]", mib/2), "exceeded max depth", false},
		{"65 nested arrays", strings.Repeat("[", 65) + strings.Repeat("]", 65), "nested deeper than 64", false},
		{"1 MiB of nested objects", strings.Repeat(`{"a":`, mib/5), "exceeded max depth", false},
		{"a 1 MiB string of escapes", `"` + strings.Repeat(`\u0000`, mib/6) + `"`, "", false},
		{"1 MiB of nested elements", strings.Repeat("<a>", mib/3), "nested deeper than 64", true},
		{"billion laughs", laughs, "invalid character entity &lol3;", true},
		{"external entity", `<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`, "invalid character entity &x;", true},
		{"100001 elements", "<r>" + strings.Repeat("<a/>", 100001) + "</r>", "more than 100000 elements and attributes", true},
		{"one element, 200000 attributes", "<r" + strings.Repeat(` a="1"`, 200000) + "/>", "more than 100000 elements and attributes", true},
	} {
		var err error
		var out []byte
		if c.xml {
			out, err = XMLToJSON(nil, []byte(c.in), XMLOptions{}, 16*mib)
		} else {
			out, err = JSONToXML(nil, []byte(c.in), false, 16*mib)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		case len(out) > 16*mib:
			t.Errorf("%s: %d bytes out", c.name, len(out))
		}
	}
}
