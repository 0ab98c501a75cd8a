package hostcall

import "github.com/gatehouse/gatehouse/abi"

// Capability config (ABI.md §5 "config").

// GetPlan is get_plan.
func (h *Host) GetPlan(env Env, x *Exchange, plan uint32, buf []byte) int32 {
	enc, ok := env.Plan(plan)
	if !ok {
		return abi.ErrNotFound
	}
	return out(buf, enc)
}

// GetAttachment is get_attachment.
func (h *Host) GetAttachment(env Env, x *Exchange, id uint32, item int32, buf []byte) int32 {
	policy, config, ok := env.Attachment(id)
	if !ok {
		return abi.ErrNotFound
	}
	switch item {
	case abi.AttachPolicy:
		return outString(buf, policy)
	case abi.AttachConfig:
		if len(config) == 0 {
			return outString(buf, "{}")
		}
		return out(buf, config)
	}
	return abi.ErrInvalid
}
