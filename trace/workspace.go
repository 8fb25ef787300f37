package trace

import "sync"

// A trace's working state (its nodes and edges, the maps that find them)
// is garbage the moment its result is assembled, and a cached trace
// allocated 16 MB a run, a third of it that state: the trace cache keeps
// it for the next trace, so that a server tracing again and again
// reuses memory instead of collecting it.
type workspace struct {
	slabs  [][]node // node chunks, full length, free for reuse
	chunks [][]edge // edge chunks, likewise
	nodes  map[nodeKey]*node
	labels map[uint32]*Label
	// collect's sorting space
	named    []named
	keys     []order
	edgeRefs []*edge

	// in use by the current trace, returned to the lists above after it
	usedSlabs  [][]node
	usedChunks [][]edge
}

func newWorkspace() *workspace {
	return &workspace{nodes: make(map[nodeKey]*node), labels: make(map[uint32]*Label)}
}

// slab returns an empty chunk of nodes with room for at least n.
func (w *workspace) slab(n int) []node {
	for len(w.slabs) > 0 {
		s := w.slabs[len(w.slabs)-1]
		w.slabs = w.slabs[:len(w.slabs)-1]
		if cap(s) >= n {
			w.usedSlabs = append(w.usedSlabs, s)
			return s[:0]
		}
	}
	s := make([]node, 0, n)
	w.usedSlabs = append(w.usedSlabs, s)
	return s
}

// chunk returns an empty chunk of edges with room for at least n.
func (w *workspace) chunk(n int) []edge {
	for len(w.chunks) > 0 {
		c := w.chunks[len(w.chunks)-1]
		w.chunks = w.chunks[:len(w.chunks)-1]
		if cap(c) >= n {
			w.usedChunks = append(w.usedChunks, c)
			return c[:0]
		}
	}
	c := make([]edge, 0, n)
	w.usedChunks = append(w.usedChunks, c)
	return c
}

// reset makes the workspace ready for another trace: what the last one
// used is cleared, so that it holds on to nothing of it.
func (w *workspace) reset() {
	for _, s := range w.usedSlabs {
		clear(s[:cap(s)])
		w.slabs = append(w.slabs, s)
	}
	for _, c := range w.usedChunks {
		clear(c[:cap(c)])
		w.chunks = append(w.chunks, c)
	}
	w.usedSlabs, w.usedChunks = w.usedSlabs[:0], w.usedChunks[:0]
	clear(w.nodes)
	clear(w.labels)
	clear(w.named[:cap(w.named)])
	clear(w.edgeRefs[:cap(w.edgeRefs)])
}

// workspaces keeps workspaces between traces.
type workspaces struct{ pool sync.Pool }

func (p *workspaces) get() *workspace {
	if w, ok := p.pool.Get().(*workspace); ok {
		return w
	}
	return newWorkspace()
}

func (p *workspaces) put(w *workspace) {
	w.reset()
	p.pool.Put(w)
}
