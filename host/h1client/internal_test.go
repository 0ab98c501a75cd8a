package h1client

import "testing"

func TestHostPort(t *testing.T) {
	for _, tc := range []struct{ in, scheme, want string }{
		{"example.com", "http", "example.com:80"},
		{"example.com", "https", "example.com:443"},
		{"example.com:8080", "http", "example.com:8080"},
		{"example.com:", "https", "example.com:443"},
		{"[::1]", "http", "[::1]:80"},
		{"[::1]:9", "https", "[::1]:9"},
		{"127.0.0.1", "https", "127.0.0.1:443"},
	} {
		if got := hostPort(tc.in, tc.scheme); got != tc.want {
			t.Errorf("hostPort(%q, %s) = %q, want %q", tc.in, tc.scheme, got, tc.want)
		}
	}
}
