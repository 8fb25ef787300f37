// Package bridges lists the bridge adapters a source reads logs with: a
// new bridge is a package beside thorchain, across and cbridge, and a
// line here.
package bridges

import (
	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/bridge/across"
	"github.com/tracehound/tracehound/bridge/cbridge"
	"github.com/tracehound/tracehound/bridge/thorchain"
)

// Across' SpokePool on Ethereum mainnet.
const acrossEthereum = "0x5c7bcd6e7de5423a257d81b442095a1a6ced35c5"

// Ethereum returns the adapters of the bridges' Ethereum mainnet
// contracts: THORChain's routers, Across' SpokePool and cBridge.
func Ethereum() bridge.Set {
	return bridge.Set{
		thorchain.Router{Routers: thorchain.EthereumRouters},
		across.SpokePool{Pools: map[string]bool{acrossEthereum: true}},
		cbridge.Bridge{Contracts: map[string]bool{cbridge.EthereumBridge: true}},
	}
}
