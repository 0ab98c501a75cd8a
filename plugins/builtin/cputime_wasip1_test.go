package main

import "time"

// cpuTime has no getrusage under wasip1 (the benchmarks run on the host).
func cpuTime() time.Duration { return 0 }
