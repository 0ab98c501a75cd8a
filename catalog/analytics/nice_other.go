//go:build !linux

package analytics

import "errors"

func setThreadNice(int) error { return errors.New("thread priorities are set on Linux only") }

const niceSupported = false

func gettid() int { return 0 }
