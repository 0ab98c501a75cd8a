package hostcall

// Interner returns the same string for the same bytes asked again soon
// after, without allocating: a policy that sets the same header, or counts
// under the same key, on every request makes its strings once. It keeps
// the last internSize strings of at most internMaxLen bytes (a round
// robin); longer ones are made each time. The zero value is ready. Not
// safe for concurrent use: one per exchange or instance.
type Interner struct {
	s    [internSize]string
	next uint8
}

const (
	internSize   = 8
	internMaxLen = 128
)

// Intern returns string(b).
func (t *Interner) Intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for i := range t.s {
		if len(t.s[i]) == len(b) && t.s[i] == string(b) {
			return t.s[i]
		}
	}
	s := string(b)
	if len(b) <= internMaxLen {
		t.s[t.next%internSize] = s
		t.next++
	}
	return s
}
