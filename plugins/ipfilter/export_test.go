package ipfilter

// FromTrustedProxy exposes fromTrustedProxy to the tests.
func (p *Policy) FromTrustedProxy(ip []byte) bool { return p.fromTrustedProxy(ip) }
