//go:build !linux

package main

import "time"

// threadCPU is not measured off Linux: reads report zero CPU time.
func threadCPU() time.Duration { return 0 }
