package sim

import (
	"fmt"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// world holds the addresses the planner and the background share.
type world struct {
	names namer

	victim        string
	mixer         string
	relayer       string // sends the mixer's withdrawal transactions
	bridge        string
	bridgeRelayer string // sends the bridge's payouts
	pool          string
	tokens        []token // tokens[0] is the pool's

	exchanges []exchange
	addrs     []string // the background pool
	contracts []string // background contracts that pay out internally
	denoms    []chain.Amount
}

type token struct {
	asset chain.Asset
	// cent is the base units in a hundredth of a token, the precision
	// background payments are drawn at.
	cent uint64
}

type exchange struct {
	name      string
	hot       string
	customers []string // the customers' deposit addresses
	thief     []string // the thief's deposit addresses
}

func newWorld(cfg *Config) *world {
	n := newNamer(cfg.Seed)
	w := &world{
		names:         n,
		victim:        n.address(addrService, svcVictim),
		mixer:         n.address(addrService, svcMixer),
		relayer:       n.address(addrService, svcRelayer),
		bridge:        n.address(addrService, svcBridge),
		bridgeRelayer: n.address(addrService, svcBridgeRelayer),
		pool:          n.address(addrService, svcPool),
	}
	if cfg.Victim != "" {
		w.victim = cfg.Victim
	}
	// Two 6-decimal stablecoins and two 18-decimal tokens, as most ERC-20
	// traffic is.
	for i, decimals := range []int{6, 6, 18, 18} {
		w.tokens = append(w.tokens, token{asset: chain.Asset(n.address(addrToken, uint64(i))), cent: pow10(decimals - 2)})
	}
	w.addrs = make([]string, cfg.Addresses)
	for i := range w.addrs {
		w.addrs[i] = n.address(addrPool, uint64(i))
	}
	w.contracts = make([]string, max(1, cfg.Addresses/100))
	for i := range w.contracts {
		w.contracts[i] = n.address(addrContract, uint64(i))
	}
	// The thief's deposit addresses come from the same family as the
	// customers', so nothing but their flows tells them apart.
	for e := range cfg.Exchanges {
		ex := exchange{name: fmt.Sprintf("exchange-%02d", e+1), hot: n.address(addrHot, uint64(e))}
		for j := range cfg.DepositAddresses + cfg.ThiefDeposits {
			a := n.address(addrDeposit, uint64(e)<<32|uint64(j))
			if j < cfg.DepositAddresses {
				ex.customers = append(ex.customers, a)
			} else {
				ex.thief = append(ex.thief, a)
			}
		}
		w.exchanges = append(w.exchanges, ex)
	}
	// Largest first, for the greedy split into notes.
	w.denoms = slices.SortedFunc(slices.Values(cfg.MixerDenominations), func(a, b chain.Amount) int { return b.Cmp(a) })
	return w
}
