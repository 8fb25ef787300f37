package sim

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
