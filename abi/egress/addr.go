package egress

import (
	"net/netip"
)

// Class is what kind of network an address belongs to, for the egress rule.
type Class uint8

// Address classes. Every class but Public is refused for a module-set
// destination unless an allow-list names it; Unspecified, Multicast and
// Broadcast are refused always.
const (
	Public      Class = iota // anything not listed below
	Loopback                 // 127.0.0.0/8, ::1
	Private                  // RFC 1918, fec0::/10 (deprecated site-local), 64:ff9b:1::/48
	CGNAT                    // 100.64.0.0/10 (RFC 6598)
	LinkLocal                // 169.254.0.0/16, fe80::/10
	Metadata                 // cloud instance-metadata endpoints (169.254.169.254, fd00:ec2::254, …)
	UniqueLocal              // fc00::/7
	Multicast                // 224.0.0.0/4, ff00::/8
	Unspecified              // 0.0.0.0/8, ::
	Broadcast                // 255.255.255.255
	Reserved                 // 240.0.0.0/4, 192.0.0.0/24, 198.18.0.0/15, 100::/64
)

var classNames = [...]string{
	Public: "public", Loopback: "loopback", Private: "private", CGNAT: "carrier-grade NAT (100.64.0.0/10)",
	LinkLocal: "link-local", Metadata: "cloud metadata", UniqueLocal: "unique-local (fc00::/7)",
	Multicast: "multicast", Unspecified: "unspecified", Broadcast: "broadcast", Reserved: "reserved",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// never reports whether no allow-list can permit the class: connecting to
// these is never what an admin means.
func (c Class) never() bool { return c == Unspecified || c == Multicast || c == Broadcast }

// metadataAddrs are instance-metadata endpoints of the common clouds. Most
// are link-local anyway; they are named so refusals say what they are, and
// so that an allow-list of a whole link-local or unique-local range does
// not open them (only an entry naming the address itself does).
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("169.254.170.23"):  true, // AWS EKS pod identity
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS (IPv6)
	netip.MustParseAddr("fd00:ec2::23"):    true, // AWS EKS pod identity (IPv6)
}

var (
	v4Private  = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}
	v4CGNAT    = netip.MustParsePrefix("100.64.0.0/10")
	v4Reserved = []netip.Prefix{netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15")}
	v4This     = netip.MustParsePrefix("0.0.0.0/8")

	v6SiteLocal = netip.MustParsePrefix("fec0::/10")
	v6ULA       = netip.MustParsePrefix("fc00::/7")
	v6Discard   = netip.MustParsePrefix("100::/64")
	v6NAT64     = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052 well-known prefix
	v6NAT64L    = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215 local-use
	v66to4      = netip.MustParsePrefix("2002::/16")
	v6Teredo    = netip.MustParsePrefix("2001::/32")
	v6Compat    = netip.MustParsePrefix("::/96")           // IPv4-compatible (deprecated)
	v6SIIT      = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated ::ffff:0:a.b.c.d
)

// Classify returns the class of ip. IPv6 forms that carry an IPv4 address
// (IPv4-mapped, IPv4-compatible, IPv4-translated, 6to4, NAT64, Teredo) are
// classified by the IPv4 address they carry when that one is not public:
// a packet to them may reach it. Zones are ignored.
func Classify(ip netip.Addr) Class {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return Unspecified
	}
	if ip.Is4In6() {
		return classify4(ip.Unmap())
	}
	if ip.Is4() {
		return classify4(ip)
	}
	if c := classify6(ip); c != Public {
		return c
	}
	if v4, ok := Embedded4(ip); ok {
		return classify4(v4)
	}
	return Public
}

// Embedded4 returns the IPv4 address an IPv6 address carries in the
// transition forms Classify looks through.
func Embedded4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case ip.Is4In6(), v6SIIT.Contains(ip), v6NAT64.Contains(ip):
		return last, true
	case v6Compat.Contains(ip):
		return last, true
	case v66to4.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case v6Teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

func classify4(ip netip.Addr) Class {
	switch {
	case metadataAddrs[ip]:
		return Metadata
	case v4This.Contains(ip):
		return Unspecified
	case ip.IsLoopback():
		return Loopback
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return Broadcast
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case ip.IsMulticast():
		return Multicast
	case v4CGNAT.Contains(ip):
		return CGNAT
	}
	for _, p := range v4Private {
		if p.Contains(ip) {
			return Private
		}
	}
	for _, p := range v4Reserved {
		if p.Contains(ip) {
			return Reserved
		}
	}
	return Public
}

func classify6(ip netip.Addr) Class {
	switch {
	case metadataAddrs[ip]:
		return Metadata
	case ip.IsUnspecified():
		return Unspecified
	case ip.IsLoopback():
		return Loopback
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case ip.IsMulticast():
		return Multicast
	case v6SiteLocal.Contains(ip), v6NAT64L.Contains(ip):
		return Private
	case v6ULA.Contains(ip):
		return UniqueLocal
	case v6Discard.Contains(ip):
		return Reserved
	}
	return Public
}
