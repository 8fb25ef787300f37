package chain

import (
	"maps"
	"slices"
	"strings"
)

// aliases is the one table of chain names: every name, asset code and
// network a user or a list may give, normalised by normName, to its
// Chain. The empty Chain marks tokens issued on several chains (their
// address's shape decides). EVM networks all map to Ethereum: one key
// controls the same address on each.
var aliases = map[string]Chain{
	"btc": Bitcoin, "xbt": Bitcoin, "bitcoin": Bitcoin,

	"eth": Ethereum, "ether": Ethereum, "ethereum": Ethereum, "erc20": Ethereum, "evm": Ethereum,
	"etc": Ethereum, "ethereumclassic": Ethereum,
	"bsc": Ethereum, "bep20": Ethereum, "bnbsmartchain": Ethereum, "binancesmartchain": Ethereum,
	"arb": Ethereum, "arbeth": Ethereum, "arbitrum": Ethereum, "arbitrumone": Ethereum,
	"matic": Ethereum, "pol": Ethereum, "polygon": Ethereum,
	"avax": Ethereum, "avaxc": Ethereum, "avalanche": Ethereum, "avalanchec": Ethereum, "avalanchecchain": Ethereum, "cchain": Ethereum,
	"op": Ethereum, "optimism": Ethereum,
	"base": Ethereum,

	"tron": Tron, "trx": Tron, "trc20": Tron,

	"ltc": Litecoin, "litecoin": Litecoin,
	"bch": BitcoinCash, "bitcoincash": BitcoinCash,
	"bsv": BitcoinSV, "bitcoinsv": BitcoinSV,
	"btg": BitcoinGold, "bitcoingold": BitcoinGold,
	"dash": Dash,
	"zec":  Zcash, "zcash": Zcash,
	"doge": Dogecoin, "dogecoin": Dogecoin, "xdg": Dogecoin,
	"xvg": Verge, "verge": Verge,
	"xmr": Monero, "monero": Monero,
	"xrp": XRP, "ripple": XRP, "xrpl": XRP,
	"xlm": Stellar, "stellar": Stellar,
	"ada": Cardano, "cardano": Cardano,
	"algo": Algorand, "algorand": Algorand,
	"dot": Polkadot, "polkadot": Polkadot,
	"ksm": Kusama, "kusama": Kusama,
	"substrate": Substrate, "ss58": Substrate,
	"sol": Solana, "solana": Solana,
	"bnb": BNBBeacon, "bep2": BNBBeacon, "bnbbeaconchain": BNBBeacon, "bnbbeacon": BNBBeacon, "binancechain": BNBBeacon,

	"usdt": "", "usdc": "",
}

// normName lower-cases a chain name and drops spaces, hyphens,
// underscores and dots, so that "Bitcoin Cash", "bitcoin-cash" and
// "BITCOIN_CASH" are one name.
func normName(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '_' || c == '.':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Canonical maps a chain name, asset code or alias to its Chain. ok is
// false for a name the table does not hold. A token issued on several
// chains (USDT, USDC) gives the empty Chain with ok true: its address's
// shape decides.
func Canonical(name string) (c Chain, ok bool) {
	c, ok = aliases[normName(name)]
	return c, ok
}

// Names returns every name Canonical accepts, normalised and sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(aliases))
}

// Chains returns every Chain the alias table names, sorted.
func Chains() []Chain {
	set := make(map[Chain]bool)
	for _, c := range aliases {
		if c != "" {
			set[c] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
