package trace

// nodeTable finds a trace's nodes by address and asset: open addressing
// over a power-of-two array, kept by the workspace from one trace to the
// next. A trace looks a node up for every tainted transfer; Go's map,
// with its hashing of the key and its groups, was a tenth of a trace.
// The nodes are also listed in the order they were made, which collect
// walks instead of the table.
type nodeTable struct {
	slots []nodeSlot
	shift uint
	list  []*node
}

type nodeSlot struct {
	key uint64
	n   *node
}

func nodeHash(k uint64, shift uint) uint64 { return (k * 0x9e3779b97f4a7c15) >> shift }

func packKey(k nodeKey) uint64 { return uint64(k.addr)<<32 | uint64(k.asset) }

func (t *nodeTable) get(k nodeKey) *node {
	if len(t.slots) == 0 {
		return nil
	}
	key := packKey(k)
	mask := uint64(len(t.slots) - 1)
	for i := nodeHash(key, t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.n == nil {
			return nil
		}
		if s.key == key {
			return s.n
		}
	}
}

// put adds a node, which must not be in the table.
func (t *nodeTable) put(n *node) {
	if 2*(len(t.list)+1) > len(t.slots) {
		t.grow()
	}
	t.insert(packKey(n.nodeKey), n)
	t.list = append(t.list, n)
}

func (t *nodeTable) insert(key uint64, n *node) {
	mask := uint64(len(t.slots) - 1)
	i := nodeHash(key, t.shift)
	for t.slots[i].n != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = nodeSlot{key, n}
}

func (t *nodeTable) grow() {
	size := max(1024, 2*len(t.slots))
	t.slots = make([]nodeSlot, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	for _, n := range t.list {
		t.insert(packKey(n.nodeKey), n)
	}
}

func (t *nodeTable) len() int { return len(t.list) }

// reset empties the table, keeping its room.
func (t *nodeTable) reset() {
	clear(t.slots)
	clear(t.list)
	t.list = t.list[:0]
}
