//go:build !linux

package embedded

func dropResident([]byte) {}
