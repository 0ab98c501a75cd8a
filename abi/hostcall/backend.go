package hostcall

import (
	"net/url"

	"github.com/gatehouse/gatehouse/abi/egress"
)

// strictEgress is the rule of an exchange without one: no own backend, no
// allow-list.
var strictEgress, _ = egress.NewScope("", egress.AllowList{})

// CheckBackendOverride checks a backend URL a policy sets against the
// exchange's egress rule (abi/egress): the syntax, literal addresses and
// reserved names now; the addresses a name resolves to are the host's to
// check when it connects.
func CheckBackendOverride(x *Exchange, raw string) (*url.URL, error) {
	s := x.Egress
	if s == nil {
		s = strictEgress
	}
	return s.CheckURL(raw)
}
