package graph

import "slices"

// radixCutoff is the bucket size below which sortOps sorts by insertion
// instead of distributing: a bucket that size is in the processor's
// cache. In BenchmarkSortOps, 32 took 139 ms where 128 (the buckets
// sorted by slices.SortFunc) took 175.
const radixCutoff = 32

// sortOps sorts a chunk's operations as cmpOps does. A chunk's millions
// of operations are far larger than the processor's caches, and a
// comparison sort reads them from memory once per level of its
// recursion, some twenty times; this distributes them in place by the
// bytes of their sort words (an American flag sort), a pass or two per
// byte, until the buckets fit in the cache, then sorts each bucket by
// comparison. The buckets follow cmpOps's order, which compares the sort
// words first, byte by byte.
func (w *graphWriter) sortOps(ops []op) {
	w.radix(ops, 0)
}

func opByte(o *op, i int) byte {
	return byte(o.w[i>>3] >> (56 - 8*(i&7)))
}

func (w *graphWriter) radix(ops []op, b int) {
	for len(ops) > radixCutoff && b < 8*len(op{}.w) {
		var count [256]int
		for i := range ops {
			count[opByte(&ops[i], b)]++
		}
		// All in one bucket: go on with the next byte without moving any.
		if count[opByte(&ops[0], b)] == len(ops) {
			b++
			continue
		}
		var start, next [256]int
		n := 0
		for c := range count {
			start[c], next[c] = n, n
			n += count[c]
		}
		for c := range count {
			end := start[c] + count[c]
			for i := next[c]; i < end; {
				d := int(opByte(&ops[i], b))
				if d == c {
					i++
					next[c] = i
					continue
				}
				ops[i], ops[next[d]] = ops[next[d]], ops[i]
				next[d]++
			}
		}
		for c := range count {
			if count[c] > 1 {
				w.radix(ops[start[c]:start[c]+count[c]], b+1)
			}
		}
		return
	}
	if len(ops) <= radixCutoff {
		w.insertion(ops)
		return
	}
	slices.SortFunc(ops, w.cmpOps)
}

// insertion sorts a bucket of a few operations by insertion, comparing
// them in place: slices.SortFunc's comparison takes two copies of them.
func (w *graphWriter) insertion(ops []op) {
	for i := 1; i < len(ops); i++ {
		j := i
		for j > 0 && w.opLess(&ops[j], &ops[j-1]) {
			ops[j], ops[j-1] = ops[j-1], ops[j]
			j--
		}
	}
}

// opLess is cmpOps(*x, *y) < 0.
func (w *graphWriter) opLess(x, y *op) bool {
	if c := w.cmpKeys(x, y); c != 0 {
		return c < 0
	}
	return x.seq < y.seq
}
