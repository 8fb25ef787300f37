// Package blkfile reads Bitcoin Core's blk*.dat files as a stream of
// blocks in chain order, with their heights, without a node.
package blkfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
)

// settleDepth is how many blocks must build on a block before it is
// delivered. Core's files hold the stale blocks the node received as well
// as the chain's; of two competing branches the one that first grows this
// much longer is taken (and at the end of the files, the longest, first
// arrived among equals, as Core chooses), so a stale block is never given
// the height of the block that replaced it.
const settleDepth = 6

// recentSize is how many delivered blocks are remembered to recognise a
// late stale block that forks below the pending ones.
const recentSize = 1024

// FileStats counts what a FileSource has read.
type FileStats struct {
	Blocks      int // delivered
	Stale       int // on a branch that lost to a longer one
	Duplicates  int // stored twice
	Unconnected int // whose parent is in none of the files
}

// FileSource delivers the blocks of Bitcoin Core's blk*.dat files in chain
// order with their heights. Core writes blocks as they arrive, which during
// its initial download is not height order, so a block whose parent has
// not been read yet is held back (by position, to be read again when its
// parent arrives) and heights follow the links from the genesis block.
// Files obfuscated with the key of Core's xor.dat (Core 28 and later) are
// read through it.
//
// A FileSource is not safe for concurrent use, except Progress.
type FileSource struct {
	params *chaincfg.Params
	files  []string
	sizes  []int64
	total  int64
	xor    []byte
	done   atomic.Int64

	fi   int      // current file
	cur  *os.File // and its handle
	rr   *btc.RecordReader
	base int64 // bytes of the files before the current one

	root    *node                    // the last delivered block; before genesis, the zero hash
	nodes   map[chainhash.Hash]*node // root and the blocks pending behind it
	orphans map[chainhash.Hash][]blockRef
	nOrphan int
	recent  map[chainhash.Hash]struct{}
	ring    []chainhash.Hash
	ringPos int
	dead    map[chainhash.Hash]struct{}
	work    []blockRef

	out   []*chain.Block
	err   error
	stats FileStats
}

type node struct {
	hash     chainhash.Hash
	height   int64
	parent   *node
	children []*node
	block    *chain.Block
	depth    int // longest chain of descendants
}

// blockRef is where a block waiting for its parent lies.
type blockRef struct {
	file int
	off  int64 // of the record
	size int
	hash chainhash.Hash
	prev chainhash.Hash
}

// OpenFiles opens path, a blk*.dat file or a directory of them (read in
// name order), holding blocks of the network params.
func OpenFiles(path string, params *chaincfg.Params) (*FileSource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("block files: %w", err)
	}
	dir := filepath.Dir(path)
	files := []string{path}
	if st.IsDir() {
		dir = path
		files, err = filepath.Glob(filepath.Join(path, "blk*.dat"))
		if err != nil {
			return nil, fmt.Errorf("block files: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("block files: no blk*.dat in %s", path)
		}
		sort.Strings(files)
	}
	s := &FileSource{
		params:  params,
		files:   files,
		nodes:   make(map[chainhash.Hash]*node),
		orphans: make(map[chainhash.Hash][]blockRef),
		recent:  make(map[chainhash.Hash]struct{}),
		dead:    make(map[chainhash.Hash]struct{}),
		fi:      -1,
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("block files: %w", err)
		}
		s.sizes = append(s.sizes, st.Size())
		s.total += st.Size()
	}
	if s.xor, err = readXORKey(filepath.Join(dir, "xor.dat")); err != nil {
		return nil, err
	}
	s.root = &node{height: -1}
	s.nodes[s.root.hash] = s.root
	return s, nil
}

// readXORKey reads Core's obfuscation key; nil when there is none or it is
// all zeros.
func readXORKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("block files: %w", err)
	}
	if len(key) != 8 {
		return nil, fmt.Errorf("block files: %s holds %d bytes, want an 8-byte key", path, len(key))
	}
	if bytes.Count(key, []byte{0}) == len(key) {
		return nil, nil
	}
	return key, nil
}

// Chain is chain.Bitcoin.
func (s *FileSource) Chain() chain.Chain { return chain.Bitcoin }

// ID is "btc:blkfile:" and the network's name.
func (s *FileSource) ID() string { return "btc:blkfile:" + s.params.Name }

// Progress returns the bytes read and the total size of the files. It may
// be called from another goroutine.
func (s *FileSource) Progress() (read, total int64) { return s.done.Load(), s.total }

// Stats counts the blocks read so far.
func (s *FileSource) Stats() FileStats { return s.stats }

// Close closes the file being read.
func (s *FileSource) Close() error {
	s.rr = nil
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}

// Next returns the next block in chain order, or io.EOF after the last.
// Bad data is a *btc.FileError naming the file and offset, returned after
// every block before it. Blocks whose parent is in none of the files are
// an error at the end, after all connected blocks.
func (s *FileSource) Next(ctx context.Context) (*chain.Block, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.step(); err != nil {
			// Deliver the pending blocks no other branch competes with,
			// then the error.
			s.settle(settleUnique)
			s.err = err
		}
	}
	b := s.out[0]
	s.out[0] = nil
	s.out = s.out[1:]
	s.stats.Blocks++
	return b, nil
}

// step reads one record and connects its block.
func (s *FileSource) step() error {
	if s.rr == nil {
		if s.fi+1 >= len(s.files) {
			return s.finish()
		}
		if err := s.openNext(); err != nil {
			return err
		}
	}
	raw, off, err := s.rr.Next()
	s.done.Store(s.base + s.rr.Offset())
	if err == io.EOF {
		s.base += s.sizes[s.fi]
		return s.Close()
	}
	if err != nil {
		return err
	}
	pb, err := btc.ParseBlock(raw)
	if err != nil {
		return &btc.FileError{File: s.files[s.fi], Offset: off, Err: err}
	}
	ref := blockRef{file: s.fi, off: off, size: len(raw), hash: pb.Hash, prev: pb.Msg.Header.PrevBlock}
	if err := s.connect(ref, pb); err != nil {
		return err
	}
	// Release the blocks that were waiting for this one, and theirs.
	for len(s.work) > 0 {
		ref := s.work[len(s.work)-1]
		s.work = s.work[:len(s.work)-1]
		pb, err := s.reread(ref)
		if err != nil {
			return err
		}
		if err := s.connect(ref, pb); err != nil {
			return err
		}
	}
	s.settle(settleBuried)
	return nil
}

func (s *FileSource) openNext() error {
	s.fi++
	name := s.files[s.fi]
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("block files: %w", err)
	}
	s.cur = f
	var r io.Reader = f
	if s.xor != nil {
		r = &xorReader{r: f, key: s.xor}
	}
	s.rr = btc.NewRecordReader(r, name, s.params.Net)
	return nil
}

// finish delivers the pending blocks at the end of the files and reports
// blocks that never connected.
func (s *FileSource) finish() error {
	s.settle(settleAll)
	if s.nOrphan == 0 {
		return io.EOF
	}
	s.stats.Unconnected = s.nOrphan
	var first blockRef
	found := false
	for _, refs := range s.orphans {
		for _, r := range refs {
			if !found || r.file < first.file || r.file == first.file && r.off < first.off {
				first, found = r, true
			}
		}
	}
	return &btc.FileError{File: s.files[first.file], Offset: first.off,
		Err: fmt.Errorf("%d blocks never connected to the chain from the genesis block, the first read being %s whose parent %s is in none of the files",
			s.nOrphan, first.hash, first.prev)}
}

// reread decodes a held-back block again from its file.
func (s *FileSource) reread(ref blockRef) (*btc.ParsedBlock, error) {
	f := s.cur
	if ref.file != s.fi || f == nil {
		// Blocks rarely wait across files: open the older file just for this.
		var err error
		if f, err = os.Open(s.files[ref.file]); err != nil {
			return nil, fmt.Errorf("block files: %w", err)
		}
		defer f.Close()
	}
	raw := make([]byte, ref.size)
	pos := ref.off + btc.RecordHeaderSize
	if _, err := f.ReadAt(raw, pos); err != nil {
		return nil, &btc.FileError{File: s.files[ref.file], Offset: ref.off, Err: fmt.Errorf("read again: %w", err)}
	}
	if s.xor != nil {
		xorAt(raw, s.xor, pos)
	}
	pb, err := btc.ParseBlock(raw)
	if err == nil && pb.Hash != ref.hash {
		err = fmt.Errorf("block %s changed to %s since it was first read", ref.hash, pb.Hash)
	}
	if err != nil {
		return nil, &btc.FileError{File: s.files[ref.file], Offset: ref.off, Err: err}
	}
	return pb, nil
}

// connect adds a block behind its parent, or holds it back until the
// parent arrives.
func (s *FileSource) connect(ref blockRef, pb *btc.ParsedBlock) error {
	if _, ok := s.nodes[ref.hash]; ok {
		s.stats.Duplicates++
		return nil
	}
	if _, ok := s.recent[ref.hash]; ok {
		s.stats.Duplicates++
		return nil
	}
	if _, ok := s.dead[ref.prev]; ok {
		s.kill(ref.hash)
		return nil
	}
	parent, ok := s.nodes[ref.prev]
	if !ok {
		if _, ok := s.recent[ref.prev]; ok {
			// Forks below the pending blocks: a branch already lost.
			s.kill(ref.hash)
			return nil
		}
		s.orphans[ref.prev] = append(s.orphans[ref.prev], ref)
		s.nOrphan++
		return nil
	}
	if parent == s.root && parent.height < 0 && ref.hash != *s.params.GenesisHash {
		return &btc.FileError{File: s.files[ref.file], Offset: ref.off,
			Err: fmt.Errorf("block %s has no parent but is not the %s genesis block %s", ref.hash, s.params.Name, s.params.GenesisHash)}
	}
	n := &node{hash: ref.hash, height: parent.height + 1, parent: parent}
	n.block = pb.Block(uint64(n.height), s.params)
	parent.children = append(parent.children, n)
	s.nodes[n.hash] = n
	for p, d := parent, 1; p != nil && p.depth < d; p, d = p.parent, d+1 {
		p.depth = d
	}
	if refs, ok := s.orphans[n.hash]; ok {
		delete(s.orphans, n.hash)
		s.nOrphan -= len(refs)
		s.work = append(s.work, refs...)
	}
	return nil
}

// kill marks a block stale, with the blocks held back waiting for it.
func (s *FileSource) kill(hash chainhash.Hash) {
	s.dead[hash] = struct{}{}
	s.stats.Stale++
	refs := s.orphans[hash]
	delete(s.orphans, hash)
	s.nOrphan -= len(refs)
	for _, r := range refs {
		s.kill(r.hash)
	}
}

// How far settle goes.
const (
	settleBuried = iota // blocks with settleDepth blocks built on them
	settleUnique        // also blocks without a competing branch, before an error
	settleAll           // every pending block, at the end of the files
)

// settle delivers the root's best child (the deepest branch, first read
// among equals) while mode allows.
func (s *FileSource) settle(mode int) {
	for len(s.root.children) > 0 {
		best := s.root.children[0]
		for _, c := range s.root.children[1:] {
			if c.depth > best.depth {
				best = c
			}
		}
		if best.depth < settleDepth && (mode == settleBuried || mode == settleUnique && len(s.root.children) > 1) {
			return
		}
		for _, c := range s.root.children {
			if c != best {
				s.prune(c)
			}
		}
		s.out = append(s.out, best.block)
		best.block = nil
		best.parent = nil
		delete(s.nodes, s.root.hash)
		if s.root.height >= 0 {
			s.remember(s.root.hash)
		}
		s.root = best
	}
}

// prune drops a losing branch.
func (s *FileSource) prune(n *node) {
	delete(s.nodes, n.hash)
	s.kill(n.hash)
	for _, c := range n.children {
		s.prune(c)
	}
}

// remember keeps the last recentSize delivered hashes.
func (s *FileSource) remember(h chainhash.Hash) {
	if len(s.ring) < recentSize {
		s.ring = append(s.ring, h)
	} else {
		delete(s.recent, s.ring[s.ringPos])
		s.ring[s.ringPos] = h
		s.ringPos = (s.ringPos + 1) % recentSize
	}
	s.recent[h] = struct{}{}
}

// xorReader undoes Core's block file obfuscation: byte i of the file is
// XORed with key[i%8].
type xorReader struct {
	r   io.Reader
	key []byte
	pos int64
}

func (x *xorReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	xorAt(p[:n], x.key, x.pos)
	x.pos += int64(n)
	return n, err
}

func xorAt(p, key []byte, pos int64) {
	k := int(pos % int64(len(key)))
	for i := range p {
		p[i] ^= key[k]
		k++
		if k == len(key) {
			k = 0
		}
	}
}
