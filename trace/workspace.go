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
func (w *workspace) slab(n int) []node { return reuse(&w.slabs, &w.usedSlabs, n) }

// chunk returns an empty chunk of edges with room for at least n.
func (w *workspace) chunk(n int) []edge { return reuse(&w.chunks, &w.usedChunks, n) }

// reuse takes an empty chunk with room for n from free, or makes one,
// and records it in used. Free chunks too small are dropped.
func reuse[T any](free, used *[][]T, n int) []T {
	for len(*free) > 0 {
		c := (*free)[len(*free)-1]
		*free = (*free)[:len(*free)-1]
		if cap(c) >= n {
			*used = append(*used, c)
			return c[:0]
		}
	}
	c := make([]T, 0, n)
	*used = append(*used, c)
	return c
}

// release clears the chunks used, so that they hold on to nothing of
// the trace, and makes them free again.
func release[T any](free, used *[][]T) {
	for _, c := range *used {
		clear(c[:cap(c)])
		*free = append(*free, c)
	}
	*used = (*used)[:0]
}

// reset makes the workspace ready for another trace: what the last one
// used is cleared, so that it holds on to nothing of it.
func (w *workspace) reset() {
	release(&w.slabs, &w.usedSlabs)
	release(&w.chunks, &w.usedChunks)
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
