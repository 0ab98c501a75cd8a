package edge

import "net/netip"

// ClientIP returns the IP address part of remoteAddr, which is normally
// http.Request.RemoteAddr: "1.2.3.4:5678" gives "1.2.3.4" and "[::1]:80"
// gives "::1". The address is returned in its canonical text form; an
// IPv4-mapped IPv6 address ("[::ffff:1.2.3.4]:80") is returned as the IPv4
// address, as net/http itself reports IPv4 peers on dual-stack listeners, so
// one client has one key in rate limits and logs. An IPv6 zone is kept.
//
// A bare address without a port is accepted as well. It returns "" when
// remoteAddr cannot be parsed, for example a host name or the address of a
// Unix-socket peer.
func ClientIP(remoteAddr string) string {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.Unmap().String()
	}
	return ""
}
