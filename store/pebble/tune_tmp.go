package pebble

import (
	"os"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

func envi(k string) int { v, _ := strconv.Atoi(os.Getenv(k)); return v }

func tune(o *pebble.Options) {
	if v := envi("TH_CONC"); v > 0 {
		o.CompactionConcurrencyRange = func() (int, int) { return 1, v }
	}
	if v := envi("TH_LBASE"); v > 0 {
		o.LBaseMaxBytes = int64(v) << 20
	}
	if v := envi("TH_TFS"); v > 0 {
		o.TargetFileSizes[0] = int64(v) << 20
	}
	if v := envi("TH_L0C"); v > 0 {
		o.L0CompactionThreshold = v
	}
	if v := envi("TH_L0S"); v > 0 {
		o.L0StopWritesThreshold = v
	}
	if v := envi("TH_MT"); v > 0 {
		o.MemTableSize = uint64(v) << 20
	}
	if v := envi("TH_MTS"); v > 0 {
		o.MemTableStopWritesThreshold = v
	}
	if strings.Contains(os.Getenv("TH_COMP"), "none") {
		for i := range o.Levels {
			o.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
		}
	}
}
