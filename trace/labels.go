package trace

import (
	"context"
	"sync"
)

// Every address a trace reaches is looked up: a tag, and for an
// unlabelled one the deposit-address check, which reads its payments:
// a quarter of a cached trace. The look-ups need nothing from the
// replays, so a new node's label is asked for only when the node's turn
// comes, and then for every node waiting, half of them on a second
// goroutine: a hop's frontier is labelled on two cores at once, with one
// hand-off for all of it. The answers are the same as looked up in turn.

// pendingLabel is a node whose label has not been looked up.
type pendingLabel struct {
	n *node
	l *Label
}

// needLabel records that n's label is to be looked up.
func (t *tracer) needLabel(n *node) {
	if l, ok := t.labels[n.addr]; ok {
		t.setLabel(n, l)
		return
	}
	n.unlabelled = true
	t.pending = append(t.pending, pendingLabel{n: n})
}

// labelPending looks up the labels of every node waiting for one.
func (t *tracer) labelPending(ctx context.Context) error {
	ps := t.pending
	if len(ps) == 0 {
		return nil
	}
	t.pending = t.pending[:0]
	lookup := func(ps []pendingLabel) error {
		for i := range ps {
			l, ok, err := t.o.Labels.Label(ctx, t.o.Chain, t.v.addrName(ps[i].n.addr))
			if err != nil {
				return err
			}
			if ok {
				ps[i].l = &l
			}
		}
		return nil
	}
	var err2 error
	half := len(ps) / 2
	var wg sync.WaitGroup
	if half >= 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err2 = lookup(ps[half:])
		}()
	} else {
		half = len(ps)
	}
	err := lookup(ps[:half])
	wg.Wait()
	if err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	for i := range ps {
		p := &ps[i]
		if !p.n.unlabelled {
			continue // the same address reached in another asset
		}
		if l, ok := t.labels[p.n.addr]; ok {
			p.l = l // an earlier answer for the address wins, as in turn
		}
		t.labels[p.n.addr] = p.l
		t.setLabel(p.n, p.l)
	}
	clear(ps)
	return nil
}

// setLabel labels a node, and keeps DeFi venues for the swaps.
func (t *tracer) setLabel(n *node, l *Label) {
	n.label, n.unlabelled = l, false
	if l != nil && !t.o.NoSwaps && isVenue(l) {
		t.venues = append(t.venues, n)
	}
}
