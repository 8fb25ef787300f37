package trace

import (
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// TestTaints: the short slice and the map it turns into past eight
// entries answer alike, through updates and deletions, and again in a
// workspace reused.
func TestTaints(t *testing.T) {
	w := newWorkspace()
	for round := range 3 {
		var x, y taints
		want := make(map[tid]chain.Amount)
		for i := range 40 {
			id := tid{tx: uint64(i % 25), pos: uint32(i % 3), kind: chain.KindNative}
			a := chain.NewAmount(uint64(i + 1))
			x.set(w, id, a)
			// Another address's taint, in the same space.
			y.set(w, tid{tx: uint64(i)}, a)
			want[id] = a
			if i%7 == 6 {
				del := tid{tx: uint64(i / 2 % 25), pos: uint32(i / 2 % 3), kind: chain.KindNative}
				x.del(del)
				delete(want, del)
			}
			var sum chain.Amount
			for id, a := range want {
				got, ok := x.get(id)
				if !ok || got.Cmp(a) != 0 {
					t.Fatalf("round %d, after %d sets: %v holds %v, %v; want %v", round, i+1, id, got, ok, a)
				}
				sum, _ = sum.Add(a)
			}
			if got := x.sum(); got.Cmp(sum) != 0 {
				t.Fatalf("round %d, after %d sets: sum %v, want %v", round, i+1, got, sum)
			}
			n := 0
			x.all(func(tid, chain.Amount) { n++ })
			if n != len(want) {
				t.Fatalf("round %d, after %d sets: %d entries, want %d", round, i+1, n, len(want))
			}
		}
		if _, ok := x.get(tid{tx: 99}); ok {
			t.Error("an absent transfer was found")
		}
		w.reset()
	}
}

// TestEdgeIndex: an index finds each edge by its transfer, short or long,
// and nothing of the indexes made before it.
func TestEdgeIndex(t *testing.T) {
	w := newWorkspace()
	for round := range 2 {
		for _, n := range []int{0, 3, taintsInline, taintsInline + 1, 50, 20, maxReusedIndex + 1, 30} {
			es := make([]edge, n)
			for i := range es {
				es[i] = edge{id: tid{tx: uint64(i), pos: 1}, tainted: chain.NewAmount(uint64(i))}
			}
			x := w.edgeIndex(round, es)
			for i := range es {
				e := x.find(tid{tx: uint64(i), pos: 1})
				if e == nil || e.tainted.Cmp(chain.NewAmount(uint64(i))) != 0 {
					t.Fatalf("%d edges: edge %d not found", n, i)
				}
			}
			if x.find(tid{tx: uint64(n), pos: 1}) != nil || x.find(tid{tx: 0, pos: 2}) != nil {
				t.Errorf("%d edges: found an edge that is not there", n)
			}
			w.done(&x)
		}
	}
}

// TestPostTime: a post gives back the posting's time exactly, and orders
// against a window's bounds to the nanosecond.
func TestPostTime(t *testing.T) {
	v := newView(chain.Ethereum, new(sync.Mutex))
	for _, at := range []time.Time{time.Unix(1700000000, 0).UTC(), time.Unix(1700000000, 999).UTC(), {}} {
		p := v.internLocked(&chain.Posting{Time: at, Tx: "0x01", Counterparty: "0x02"})
		if got := p.time(); !got.Equal(at) || got != at {
			t.Errorf("time %v came back as %v", at, got)
		}
		if !p.before(at.Add(time.Nanosecond)) || p.before(at) {
			t.Errorf("time %v does not order against its own bounds", at)
		}
	}
}
