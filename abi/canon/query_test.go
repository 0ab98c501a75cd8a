package canon

import "testing"

func TestQueryParams(t *testing.T) {
	cases := []struct {
		q, name, val string
		ok           bool
		rest         string
	}{
		{"a=1&key=k1&b=2", "key", "k1", true, "a=1&b=2"},
		{"key=k1&key=k2", "key", "k1", true, ""},
		{"k%65y=x%20y&z", "key", "x y", true, "z"},
		{"a=1", "key", "", false, "a=1"},
		{"key=", "key", "", false, ""},
		{"key=%zz&b=%2F", "key", "", false, "b=%2F"},
		{"", "key", "", false, ""},
	}
	for _, c := range cases {
		v, ok := QueryValue(c.q, c.name)
		if v != c.val || ok != c.ok {
			t.Errorf("QueryValue(%q, %q) = %q, %v", c.q, c.name, v, ok)
		}
		if r := RemoveQueryParam(c.q, c.name); r != c.rest {
			t.Errorf("RemoveQueryParam(%q, %q) = %q; want %q", c.q, c.name, r, c.rest)
		}
	}
}
