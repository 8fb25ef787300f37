package trace

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
)

func TestMemo(t *testing.T) {
	m := NewMemo(2, 100)
	res := &Result{ID: "a", Chain: chain.Ethereum, Nodes: make([]Node, 1, 8), Warnings: make([]string, 0, 4)}
	gen := m.Generation()
	m.Put(gen, "q1", res, "ev1")
	res.ID = "renamed by its caller"
	got, extra, ok := m.Get("q1")
	if !ok || extra != "ev1" || got.ID != "" || len(got.Nodes) != 1 {
		t.Fatalf("got %+v %v %v", got, extra, ok)
	}
	// An append to the copy leaves the result kept as it was.
	got.Warnings = append(got.Warnings, "mine")
	got.Nodes = append(got.Nodes, Node{Address: "x"})
	again, _, _ := m.Get("q1")
	if len(again.Warnings) != 0 || len(again.Nodes) != 1 {
		t.Fatalf("an append to a copy reached the result kept: %+v", again)
	}
	// A result computed while the memo was cleared is not kept.
	m.Clear()
	if _, _, ok := m.Get("q1"); ok {
		t.Fatal("Clear kept a result")
	}
	m.Put(gen, "q1", res, nil)
	if m.Len() != 0 {
		t.Fatal("a result from before Clear was kept")
	}
	// The least recently used goes first.
	gen = m.Generation()
	m.Put(gen, "q1", res, nil)
	m.Put(gen, "q2", res, nil)
	m.Get("q1")
	m.Put(gen, "q3", res, nil)
	if _, _, ok := m.Get("q2"); ok {
		t.Fatal("the least recently used result was kept")
	}
	if _, _, ok := m.Get("q1"); !ok {
		t.Fatal("a result used since was dropped")
	}
	// The budget of nodes and edges: a result larger than it is not
	// kept, and one that fills it drops the others.
	gen = m.Generation()
	m.Put(gen, "big", &Result{Nodes: make([]Node, 101)}, nil)
	if _, _, ok := m.Get("big"); ok {
		t.Fatal("a result larger than the budget was kept")
	}
	m.Put(gen, "full", &Result{Nodes: make([]Node, 60), Edges: make([]Edge, 40)}, nil)
	if m.Len() != 1 {
		t.Fatalf("%d results kept beside one that fills the budget", m.Len())
	}
}

func TestMemoKey(t *testing.T) {
	o := Options{Chain: chain.Ethereum, Model: Haircut, MaxHops: 6}
	seeds := []Seed{{Address: "0xabc"}}
	k1, ok1 := MemoKey(seeds, o, false)
	k2, ok2 := MemoKey(seeds, o, true)
	o.Model = Poison
	k3, _ := MemoKey(seeds, o, false)
	if !ok1 || !ok2 || k1 == k2 || k1 == k3 {
		t.Fatalf("keys do not tell the questions apart: %q %q %q", k1, k2, k3)
	}
	o.Instant = &Instant{}
	if _, ok := MemoKey(seeds, o, false); ok {
		t.Fatal("a trace through instant exchanges was given a key")
	}
}
