package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/host/metrics"
)

// checkMetricsLimit refuses a --metrics-apis or --metrics-operations value
// below -1 (a usage error naming the flag) before serve starts anything.
func checkMetricsLimit(flag string) func(*cli.Context, int) error {
	return func(_ *cli.Context, n int) error {
		if err := metrics.CheckLimit(n); err != nil {
			return usageError{fmt.Errorf("--%s: %v", flag, err)}
		}
		return nil
	}
}
