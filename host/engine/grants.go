package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
)

// checkGranted refuses a module that imports a host function whose
// capability group is not in granted (nil: not enforced). The error names
// every such import and its group.
func checkGranted(info *Info, granted []string) error {
	if granted == nil {
		return nil
	}
	var refused []string
	for _, name := range info.HostImports {
		hf, ok := abi.LookupHostFunc(name)
		if !ok || slices.Contains(granted, hf.Cap) {
			continue
		}
		refused = append(refused, fmt.Sprintf("%s.%s (capability %q)", abi.HostModule, name, hf.Cap))
	}
	if len(refused) == 0 {
		return nil
	}
	return invalid("imports %s, which an admin has not granted (granted: %s)", strings.Join(refused, ", "), grantedList(granted))
}

func grantedList(g []string) string {
	if len(g) == 0 {
		return "nothing"
	}
	return strings.Join(g, ", ")
}
