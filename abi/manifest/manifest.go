// Package manifest is the module manifest: what a policy module declares to
// the host (ABI version, capabilities, config schemas, limits, egress). It
// is part of the module contract, next to the ABI, so a module's build and
// the SDK can use it without the catalog; the catalog stores it
// (catalog.ModuleManifest is this Module).
//
// It imports only the standard library.
package manifest

import "encoding/json"

// Module describes what a module needs from the host.
type Module struct {
	ABIVersion   int             `json:"abiVersion"`
	Capabilities []string        `json:"capabilities,omitempty"`
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
	Limits       Limits          `json:"limits"`
	// Egress lists the destinations (host names, IP addresses, CIDRs,
	// optionally with a port) the module asks to reach; an admin grants
	// them, the egress policy enforces them.
	Egress []string `json:"egress,omitempty"`
	// Policies lists the policies a module provides when it provides
	// several (the built-in module does); each has its own config schema.
	// Empty for a module that provides one policy, named like the module,
	// whose schema is ConfigSchema.
	Policies []Policy `json:"policies,omitempty"`
}

// Policy describes one policy of a multi-policy module.
type Policy struct {
	Name         string          `json:"name"`
	Version      string          `json:"version,omitempty"`
	Description  string          `json:"description,omitempty"`
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
}

// PolicySchema returns the config JSON Schema of the named policy (the
// module's default policy when name is "" or the module's name), and
// whether the module provides that policy at all.
func (m *Module) PolicySchema(module, name string) (schema json.RawMessage, ok bool) {
	if len(m.Policies) == 0 {
		return m.ConfigSchema, name == "" || name == module
	}
	if name == "" {
		name = module
	}
	for _, p := range m.Policies {
		if p.Name == name {
			return p.ConfigSchema, true
		}
	}
	return nil, false
}

// Limits bounds a module instance. Zero means the host default.
type Limits struct {
	MemoryPages int `json:"memoryPages,omitempty"`
	TimeoutMS   int `json:"timeoutMs,omitempty"`
	Instances   int `json:"instances,omitempty"`
}

// DefaultCeilings are the ceilings on what a manifest may request when the
// operator sets none (`gatehouse serve --module-max-memory-pages,
// --module-max-timeout, --module-max-instances`).
var DefaultCeilings = Limits{MemoryPages: 256, TimeoutMS: 1000, Instances: 8}

// Clamp returns the requested limits l, each at most its ceiling in c (a
// zero ceiling is DefaultCeilings'). Zero requests stay zero (the host
// default).
func (l Limits) Clamp(c Limits) Limits {
	if c.MemoryPages <= 0 {
		c.MemoryPages = DefaultCeilings.MemoryPages
	}
	if c.TimeoutMS <= 0 {
		c.TimeoutMS = DefaultCeilings.TimeoutMS
	}
	if c.Instances <= 0 {
		c.Instances = DefaultCeilings.Instances
	}
	return Limits{MemoryPages: min(l.MemoryPages, c.MemoryPages), TimeoutMS: min(l.TimeoutMS, c.TimeoutMS), Instances: min(l.Instances, c.Instances)}
}
