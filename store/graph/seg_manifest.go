package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tracehound/tracehound/chain"
)

// The manifest names the segments in force, per chain in block order. It
// is replaced whole: written to a temporary file, synced, renamed over
// the old one and the directory synced. A segment is in force only once a
// synced manifest names it, so a crash while a segment is written or
// merged leaves the previous manifest, and the segments it names, in
// force; files it does not name are removed when the traversal opens.
const (
	manifestName   = "MANIFEST"
	manifestHeader = "tracehound traversal manifest 1 "
)

type manifest struct {
	Next   uint64                        `json:"next"` // the next file number
	Chains map[chain.Chain][]manifestSeg `json:"chains"`
}

type manifestSeg struct {
	File     string `json:"file"`
	Lo       uint64 `json:"lo"`
	Hi       uint64 `json:"hi"`
	IDBase   uint32 `json:"id_base"`
	IDEnd    uint32 `json:"id_end"`
	Size     uint64 `json:"size"`
	Checksum uint32 `json:"checksum"` // the header's CRC-32C
}

func segRecord(file string, m *segMeta) manifestSeg {
	return manifestSeg{File: file, Lo: m.lo, Hi: m.hi, IDBase: m.idBase, IDEnd: m.idEnd, Size: m.size, Checksum: m.headerChecksum}
}

var errManifest = errors.New("corrupt traversal manifest")

// readManifest reads dir's manifest; a directory without one has no
// segments.
func readManifest(dir string) (manifest, error) {
	m := manifest{Chains: map[chain.Chain][]manifestSeg{}}
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	line, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !bytes.HasPrefix(line, []byte(manifestHeader)) {
		return m, fmt.Errorf("%w: no header", errManifest)
	}
	sum, err := strconv.ParseUint(string(line[len(manifestHeader):]), 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum(body, crcTable) {
		return m, fmt.Errorf("%w: checksum mismatch", errManifest)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("%w: %v", errManifest, err)
	}
	if m.Chains == nil {
		m.Chains = map[chain.Chain][]manifestSeg{}
	}
	return m, nil
}

// writeManifest replaces dir's manifest with m, durably.
func writeManifest(dir string, m *manifest) error {
	body, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s%08x\n", manifestHeader, crc32.Checksum(body, crcTable))
	b.Write(body)
	tmp := filepath.Join(dir, manifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
