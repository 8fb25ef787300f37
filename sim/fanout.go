package sim

import "math/rand/v2"

// Payment is one transfer of a FanOut tree, in base units.
type Payment struct {
	From, To string
	Amount   uint64
}

// FanOut is the laundering tree the trace benchmarks measure: a theft of
// amount into thief fans out over four hops (ten ways, then nine) to
// 9,000 addresses, which pay 100 exchange deposit addresses, each
// sweeping to one of hot. A 6-hop trace from thief reaches 10,211
// addresses over 19,110 transfers. name makes the addresses: kind 3 the
// victim, 4 the hops, 5 the deposits, each numbered from 0. The payments
// are in order: the theft, each hop's, the deposits, the sweeps.
func FanOut(thief string, hot []string, amount uint64, name func(kind byte, n uint64) string) []Payment {
	pays := []Payment{{name(3, 0), thief, amount}}
	level := []string{thief}
	var id uint64
	for hop := 1; hop <= 4; hop++ {
		fan := 10
		if hop == 4 {
			fan = 9
		}
		amount /= uint64(fan)
		var next []string
		for _, from := range level {
			for range fan {
				id++
				to := name(4, id)
				pays = append(pays, Payment{from, to, amount})
				next = append(next, to)
			}
		}
		level = next
	}
	deposits := make([]string, 100)
	for i := range deposits {
		deposits[i] = name(5, uint64(i))
	}
	for i, from := range level {
		pays = append(pays, Payment{from, deposits[i%len(deposits)], amount})
	}
	for i, d := range deposits {
		pays = append(pays, Payment{d, hot[i%len(hot)], amount * uint64(len(level)/len(deposits))})
	}
	return pays
}

// Mix is the ordinary traffic FanOutMixed weaves into the tree.
type Mix struct {
	// Clean names the i-th sender of clean funds: an address of the
	// background, which thus meets the tree.
	Clean func(i uint64) string
	// Sink names the i-th recipient of a small spend.
	Sink func(i uint64) string
	// Spend is the amount of each small spend: below the dust limit a
	// trace sets, so that neither a trace nor a reachability query
	// follows it into the background.
	Spend uint64
	// Seed draws the clean amounts.
	Seed uint64
}

// FanOutMixed is FanOut's tree as it meets ordinary traffic: every
// address of the tree holds clean funds before the stolen ones arrive
// (one or two payments from background addresses, half to one and a half
// times what it then receives from the tree), so that a haircut trace
// splits each payment into a tainted and a clean share rather than
// finding every balance wholly stolen; the last hop's addresses also
// make a small spend to a background address; and each deposit address
// receives deposits from background customers too, which its sweep to
// the hot wallet (give the background's busiest addresses as hot, so
// that the sweeps land in high-volume wallets) carries along. The
// payments are in order: for each hop the clean funds, then the tree's.
func FanOutMixed(thief string, hot []string, amount uint64, name func(kind byte, n uint64) string, m Mix) []Payment {
	r := rand.New(rand.NewPCG(m.Seed, 5))
	var clean uint64
	fund := func(pays []Payment, to string, receives uint64) []Payment {
		total := receives/2 + r.Uint64N(receives+1)
		n := 1 + r.Uint64N(2)
		for i := range n {
			a := total / n
			if i == n-1 {
				a = total - a*(n-1)
			}
			pays = append(pays, Payment{m.Clean(clean), to, a})
			clean++
		}
		return pays
	}
	pays := []Payment{{name(3, 0), thief, amount}}
	level := []string{thief}
	var id uint64
	for hop := 1; hop <= 4; hop++ {
		fan := 10
		if hop == 4 {
			fan = 9
		}
		amount /= uint64(fan)
		var next []string
		var tree []Payment
		for _, from := range level {
			for range fan {
				id++
				to := name(4, id)
				pays = fund(pays, to, amount)
				tree = append(tree, Payment{from, to, amount})
				next = append(next, to)
			}
		}
		pays = append(pays, tree...)
		level = next
	}
	deposits := make([]string, 100)
	received := make([]uint64, len(deposits))
	for i := range deposits {
		deposits[i] = name(5, uint64(i))
		for range 3 {
			a := amount/2 + r.Uint64N(amount)
			pays = append(pays, Payment{m.Clean(clean), deposits[i], a})
			clean++
			received[i] += a
		}
	}
	for i, from := range level {
		pays = append(pays, Payment{from, deposits[i%len(deposits)], amount})
		received[i%len(deposits)] += amount
		pays = append(pays, Payment{from, m.Sink(uint64(i)), m.Spend})
	}
	for i, d := range deposits {
		pays = append(pays, Payment{d, hot[i%len(hot)], received[i]})
	}
	return pays
}
