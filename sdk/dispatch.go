package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// maxCached bounds the plan and attachment caches. Ids are never reused for
// other content, but a long-lived instance sees new ones after each catalog
// change; when a cache grows past the bound it is simply emptied.
const maxCached = 4096

// attachment is a parsed attachment: its policy, or why there is none.
type attachment struct {
	name   string
	policy Policy
	err    error
}

var (
	plans       = map[uint32][]*attachment{}
	attachments = map[uint32]*attachment{}
	// cur is the one Context, reused by every call.
	cur Context
)

func init() {
	imports.Guest.OnRequest = func(ctx, plan uint32) int32 { return dispatch(PhaseRequest, ctx, plan) }
	imports.Guest.OnResponse = func(ctx, plan uint32) int32 { return dispatch(PhaseResponse, ctx, plan) }
	imports.Guest.Reset = reset
}

// reset drops every per-instance cache.
func reset() {
	clear(plans)
	clear(attachments)
	scratch = make([]byte, scratchSize)
	cur = Context{}
}

// dispatch runs a plan in a phase and returns the abi result.
func dispatch(phase Phase, ctx, plan uint32) int32 {
	defer trimScratch()
	c := &cur
	*c = Context{handle: ctx, phase: phase}
	atts, st := planFor(ctx, plan)
	if st < 0 {
		c.logf(LogError, "plan %d: %v", plan, statusErr(st))
		return st
	}
	handled := false
	for i, a := range atts {
		if a.err != nil {
			c.log(LogError, a.err.Error())
			return abi.ErrInvalid
		}
		c.policy = a.name
		c.noHandler = false
		var act Action
		if phase == PhaseRequest {
			act = a.policy.OnRequest(c)
		} else {
			act = a.policy.OnResponse(c)
		}
		if c.failure != nil {
			return c.failed()
		}
		if !c.noHandler {
			handled = true
		}
		if act == Stop {
			return abi.ActionStop
		}
		if c.rerun {
			// The host waits for a cache fill and runs this stage again
			// from this attachment (ABI v1.2 FlagRerunFrom): the policies
			// before it do not run twice, the ones after it run then.
			if i > int(abi.RerunIndexMask) {
				return abi.ActionContinue // the host re-runs the whole plan
			}
			return abi.ActionContinue | abi.FlagRerunFrom | int32(i)<<abi.RerunIndexShift
		}
	}
	c.policy = ""
	if !handled {
		return abi.ActionContinue | abi.FlagNoHandler
	}
	return abi.ActionContinue
}

// failed logs the recorded failure and returns its negative result.
func (c *Context) failed() int32 {
	c.log(LogError, c.failure.Error())
	var se *StatusError
	if errors.As(c.failure, &se) && se.Status < 0 {
		return se.Status
	}
	return abi.ErrInvalid
}

// planFor returns the attachments of a plan, from the cache or the host.
func planFor(ctx, plan uint32) ([]*attachment, int32) {
	if atts, ok := plans[plan]; ok {
		return atts, abi.OK
	}
	n := read(func(buf []byte) int32 { return imports.GetPlan(ctx, plan, buf) })
	if n < 0 {
		return nil, n
	}
	if n%4 != 0 {
		return nil, abi.ErrInvalid
	}
	ids := make([]uint32, n/4)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint32(scratch[4*i:])
	}
	atts := make([]*attachment, len(ids))
	for i, id := range ids {
		a, st := attachmentFor(ctx, id)
		if st < 0 {
			return nil, st
		}
		atts[i] = a
	}
	if len(plans) >= maxCached {
		clear(plans)
	}
	plans[plan] = atts
	return atts, abi.OK
}

// attachmentFor returns a parsed attachment, building its policy on first use.
func attachmentFor(ctx, id uint32) (*attachment, int32) {
	if a, ok := attachments[id]; ok {
		return a, abi.OK
	}
	name, err := readString(func(buf []byte) int32 { return imports.GetAttachment(ctx, id, abi.AttachPolicy, buf) })
	if err != nil {
		return nil, err.(*StatusError).Status
	}
	config, err := readOwned(func(buf []byte) int32 { return imports.GetAttachment(ctx, id, abi.AttachConfig, buf) })
	if err != nil {
		return nil, err.(*StatusError).Status
	}
	a := &attachment{name: name}
	if f, ok := registry[name]; !ok {
		a.err = fmt.Errorf("attachment %d: this module has no policy %q (it provides %s)", id, name, strings.Join(Registered(), ", "))
	} else if p, err := f(config); err != nil {
		a.err = fmt.Errorf("%s: invalid config: %w", name, err)
	} else if p == nil {
		a.err = fmt.Errorf("%s: the factory returned no policy", name)
	} else {
		a.policy = p
	}
	if len(attachments) >= maxCached {
		clear(attachments)
	}
	attachments[id] = a
	return a, abi.OK
}
