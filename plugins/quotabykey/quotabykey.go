// Package quotabykey registers the quota-by-key policy, which package quota
// implements (see its documentation): the built-in module registers each
// policy as <package>.Name and <package>.New.
package quotabykey

import (
	"github.com/gatehouse/gatehouse/plugins/quota"
	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = quota.ByKeyName

// New parses and checks a quota-by-key config (quota.NewByKey).
func New(config []byte) (sdk.Policy, error) { return quota.NewByKey(config) }
