package trace

import (
	"sync"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
)

// A trace's working state (its nodes and edges, the maps that find them)
// is garbage the moment its result is assembled, and a cached trace
// allocated 16 MB a run, a third of it that state: the trace cache keeps
// it for the next trace, so that a server tracing again and again
// reuses memory instead of collecting it.
type workspace struct {
	slabs  [][]node // node chunks, full length, free for reuse
	chunks [][]edge // edge chunks, likewise
	nodes  nodeTable
	labels map[uint32]*Label
	queue  []*node
	// The taint of addresses that receive it more than once: short
	// slices cut from chunks, then maps once they outgrow them.
	taintChunks [][]taintAt
	taintMaps   []map[tid]chain.Amount
	// settle's indexes of a replay's edges, before and after
	index [2]map[tid]int
	// collect's sorting space
	named    []named
	keys     []order
	sortTmp  []order
	edgeRefs []*edge
	edgeKeys []order
	edgeTmp  []order
	arrivals []arrival
	grouped  []int32
	// nodes waiting for their labels
	todo []*node
	// histories decoded from a traversal, the last one
	gposts []graph.Post
	posts  []post

	// in use by the current trace, returned to the lists above after it
	usedSlabs       [][]node
	usedChunks      [][]edge
	usedTaintChunks [][]taintAt
	usedTaintMaps   []map[tid]chain.Amount
	taints          []taintAt // the taint chunk being cut
}

func newWorkspace() *workspace {
	return &workspace{labels: make(map[uint32]*Label),
		index: [2]map[tid]int{make(map[tid]int), make(map[tid]int)}}
}

// slab returns an empty chunk of nodes with room for at least n.
func (w *workspace) slab(n int) []node { return reuse(&w.slabs, &w.usedSlabs, n) }

// chunk returns an empty chunk of edges with room for at least n.
func (w *workspace) chunk(n int) []edge { return reuse(&w.chunks, &w.usedChunks, n) }

// taintSlice returns an empty slice with room for taintsInline
// transfers' taint.
func (w *workspace) taintSlice() []taintAt {
	if cap(w.taints)-len(w.taints) < taintsInline {
		w.taints = reuse(&w.taintChunks, &w.usedTaintChunks, 128*taintsInline)
	}
	at := len(w.taints)
	w.taints = w.taints[:at+taintsInline]
	return w.taints[at:at:len(w.taints)]
}

// taintMap returns an empty map for the taint of many transfers.
func (w *workspace) taintMap() map[tid]chain.Amount {
	var m map[tid]chain.Amount
	if n := len(w.taintMaps); n > 0 {
		m, w.taintMaps = w.taintMaps[n-1], w.taintMaps[:n-1]
	} else {
		m = make(map[tid]chain.Amount, 2*taintsInline)
	}
	w.usedTaintMaps = append(w.usedTaintMaps, m)
	return m
}

// edgesInline is how many edges a replay's index searches in turn before
// it builds a map: the ten payments of a fan-out are found faster so.
const edgesInline = 16

// A map keeps its room when cleared, and clearing takes time in
// proportion to it: an index of an address with very many transfers is
// not kept, so that every later one does not pay to clear its room.
const maxReusedIndex = 1024

// edgeIndex indexes a replay's edges, before (i = 0) or after (1); done
// must be called when it is no longer used.
func (w *workspace) edgeIndex(i int, es []edge) edgeIndex {
	x := edgeIndex{es: es}
	if len(es) <= edgesInline {
		return x
	}
	if len(es) > maxReusedIndex {
		x.m = make(map[tid]int, len(es))
	} else {
		x.m = w.index[i]
	}
	for j := range es {
		x.m[es[j].id] = j
	}
	return x
}

func (w *workspace) done(x *edgeIndex) {
	if x.m != nil && len(x.es) <= maxReusedIndex {
		clear(x.m)
	}
}

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
	w.taints = nil
	release(&w.taintChunks, &w.usedTaintChunks)
	for _, m := range w.usedTaintMaps {
		if len(m) <= maxReusedIndex { // as for the indexes
			clear(m)
			w.taintMaps = append(w.taintMaps, m)
		}
	}
	clear(w.usedTaintMaps)
	w.usedTaintMaps = w.usedTaintMaps[:0]
	w.nodes.reset()
	clear(w.labels)
	clear(w.queue[:cap(w.queue)])
	w.queue = w.queue[:0]
	clear(w.named[:cap(w.named)])
	clear(w.edgeRefs[:cap(w.edgeRefs)])
	clear(w.arrivals[:cap(w.arrivals)])
}

// bare keeps the working memory of traces run on a graph without a
// trace cache, as a sync.Pool: memory only, nothing a trace can see.
var bare workspaces

// workspaces keeps workspaces between traces. A sync.Pool empties after
// two collections, as a server idle for a few minutes goes through, and
// a trace then builds its workspace anew: one is kept apart for the next
// trace, and the pool holds those of traces run at once.
type workspaces struct {
	mu   sync.Mutex
	idle *workspace
	pool sync.Pool
}

func (p *workspaces) get() *workspace {
	p.mu.Lock()
	w := p.idle
	p.idle = nil
	p.mu.Unlock()
	if w != nil {
		return w
	}
	if w, ok := p.pool.Get().(*workspace); ok {
		return w
	}
	return newWorkspace()
}

func (p *workspaces) put(w *workspace) {
	w.reset()
	p.mu.Lock()
	if p.idle == nil {
		p.idle, w = w, nil
	}
	p.mu.Unlock()
	if w != nil {
		p.pool.Put(w)
	}
}
