package sdk

import (
	"fmt"
	"slices"
)

// Action is what a policy tells the SDK after handling a phase.
type Action int32

const (
	// Continue goes on with the next policy (and, after the last one of the
	// request phase, with the backend).
	Continue Action = 0
	// Stop ends the section: in the request phase the policy answered (see
	// Context.Respond) and the backend is skipped; in the response phase the
	// policy is done with the response and later policies of the section do
	// not run.
	Stop Action = 1
)

// String returns "continue" or "stop".
func (a Action) String() string {
	switch a {
	case Continue:
		return "continue"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Action(%d)", int32(a))
}

// Policy is one policy of a module. The SDK builds one value per attachment
// and instance (with its Factory, from the attachment's config) and calls it
// for every request the instance serves, one call at a time.
type Policy interface {
	// OnRequest runs in the request phase (inbound and backend sections,
	// and on-error), before the backend is called.
	OnRequest(c *Context) Action
	// OnResponse runs in the response phase (outbound section), once the
	// backend's status and headers are known, or on an early answer.
	OnResponse(c *Context) Action
}

// Base implements both methods of Policy as no-ops that also tell the SDK
// "this policy does not handle this phase". Embed it and override the phase
// you handle. When no policy of a plan handles a phase, the host stops
// calling the module for that phase and plan, which saves a guest call per
// request.
//
// A policy whose config makes a phase irrelevant may call the Base method
// itself (return p.Base.OnResponse(c)); the decision must then depend only on
// the config, never on the request, since the host remembers it.
type Base struct{}

// OnRequest does nothing and marks the request phase as not handled.
func (Base) OnRequest(c *Context) Action {
	c.noHandler = true
	return Continue
}

// OnResponse does nothing and marks the response phase as not handled.
func (Base) OnResponse(c *Context) Action {
	c.noHandler = true
	return Continue
}

// Factory builds a policy from an attachment's JSON config ("{}" when the
// attachment has none). It should validate the config strictly and parse it
// once, so that the policy's handlers do no parsing. An error fails every
// call of the attachment and is logged with the policy's name.
type Factory func(config []byte) (Policy, error)

var registry = map[string]Factory{}

// Register makes a policy available under name (the name attachments use,
// e.g. "rate-limit"). Call it from an init function; a module may register
// several policies. Register panics on an empty name, a nil factory or a
// name registered twice.
func Register(name string, f Factory) {
	switch {
	case name == "":
		panic("gatehouse sdk: Register with an empty policy name")
	case f == nil:
		panic("gatehouse sdk: Register(" + name + ") with a nil factory")
	}
	if _, dup := registry[name]; dup {
		panic("gatehouse sdk: policy " + name + " registered twice")
	}
	registry[name] = f
}

// Registered returns the names of the registered policies, sorted.
func Registered() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
