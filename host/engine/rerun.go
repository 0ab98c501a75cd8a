package engine

import "fmt"

// SuffixPlan returns the plan of p's attachments from index i on: what a
// fill-wait re-run calls when the guest named attachment i with
// abi.FlagRerunFrom (ABI v1.2), so the policies before it are not run,
// counted or applied twice. Suffix plans are made once per (plan, index)
// and released with p (Module.Release); i <= 0 or past the end gives p.
func (m *Module) SuffixPlan(p *Plan, i int) (*Plan, error) {
	if i <= 0 || i >= len(p.Attachments) {
		return p, nil
	}
	key := suffixKey{p.ID, i}
	m.regMu.Lock()
	if s, ok := m.suffixes[key]; ok {
		m.regMu.Unlock()
		return s, nil
	}
	m.regMu.Unlock()
	atts := make([]*Attachment, 0, len(p.Attachments)-i)
	for _, id := range p.Attachments[i:] {
		a := m.attachment(id)
		if a == nil {
			return nil, fmt.Errorf("engine: plan %d: attachment %d is gone", p.ID, id)
		}
		atts = append(atts, a)
	}
	s, err := m.NewPlan(atts...)
	if err != nil {
		return nil, err
	}
	m.regMu.Lock()
	defer m.regMu.Unlock()
	if old, ok := m.suffixes[key]; ok {
		m.plans.Delete(s.ID)
		return old, nil // another call made it first; s is dropped
	}
	if m.plan(p.ID) != p {
		// p was released while s was made: nothing would release s.
		m.plans.Delete(s.ID)
		return nil, fmt.Errorf("engine: plan %d was released", p.ID)
	}
	if m.suffixes == nil {
		m.suffixes = map[suffixKey]*Plan{}
	}
	m.suffixes[key] = s
	return s, nil
}

type suffixKey struct {
	plan uint32
	from int
}
