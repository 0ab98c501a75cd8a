package edge

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestClientDoesNotFormatIPv4: the client address of a direct IPv4 peer is
// the text of its RemoteAddr before the port, without an allocation.
func TestClientDoesNotFormatIPv4(t *testing.T) {
	var p Proxies
	h := http.Header{}
	if got := p.Client("192.0.2.10:40000", h); got != "192.0.2.10" {
		t.Fatalf("Client = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.Client("192.0.2.10:40000", h) }); n != 0 {
		t.Errorf("Client of an IPv4 peer allocates %.0f times", n)
	}
	for _, tc := range []struct{ addr, want string }{
		{"[::ffff:192.0.2.10]:80", "192.0.2.10"},
		{"[2001:DB8::1]:80", "2001:db8::1"},
		{"192.0.2.10", "192.0.2.10"},
		{"::ffff:192.0.2.10", "192.0.2.10"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"not an address", ""},
	} {
		if got := p.Client(tc.addr, h); got != tc.want {
			t.Errorf("Client(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// FuzzPeerString: the shortcut answers what formatting the parsed peer
// answers, for any RemoteAddr.
func FuzzPeerString(f *testing.F) {
	for _, s := range []string{"192.0.2.10:40000", "1.2.3.4:0", "01.2.3.4:80", "[::ffff:1.2.3.4]:80", "[::1]:80", "1.2.3.4", "255.255.255.255:65535", "0.0.0.0:1", "1.2.3.4.5:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remoteAddr string) {
		peer, ok := parsePeer(remoteAddr)
		if !ok {
			return
		}
		if got, want := peerString(remoteAddr, peer), peer.String(); got != want {
			t.Fatalf("peerString(%q) = %q, want %q", remoteAddr, got, want)
		}
		if _, err := netip.ParseAddr(peer.String()); err != nil {
			t.Fatalf("%q: %v", remoteAddr, err)
		}
	})
}
