//go:build linux

package main

import "syscall"

// peakRSS returns the process's peak resident set size in bytes, or -1.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Maxrss * 1024 // KiB on Linux
}
