package node

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/btcrpc"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/ingest/tron"
)

// ChainNode says how to reach a chain's node: an Ethereum JSON-RPC, a
// Bitcoin Core or btcd JSON-RPC, or a java-tron HTTP API.
type ChainNode struct {
	Chain chain.Chain
	URL   string
	Eth   ethrpc.SourceOptions
	// Btc configures a Bitcoin node (its URL is URL); BtcNetwork names
	// its network (mainnet, testnet3, testnet4, signet, regtest, simnet).
	Btc        btcrpc.RPCConfig
	BtcNetwork string
	Tron       tron.SourceOptions
}

// OpenChainNode connects to a chain's node. What the node cannot provide
// (an Ethereum node that does not trace calls) is logged as a warning
// and returned.
func (n *Node) OpenChainNode(ctx context.Context, cn ChainNode) (src ingest.NodeSource, closeSrc func(), warning string, err error) {
	switch cn.Chain {
	case chain.Ethereum:
		s, err := ethrpc.NewSource(ctx, cn.URL, cn.Eth)
		if err != nil {
			return nil, nil, "", err
		}
		if w := s.Warning(); w != "" {
			n.log.Warn(w, "chain", string(cn.Chain))
			warning = w
		}
		return s, s.Close, warning, nil
	case chain.Bitcoin:
		params, err := btc.NetworkParams(cn.BtcNetwork)
		if err != nil {
			return nil, nil, "", inputErr(fmt.Errorf("network %q: %w", cn.BtcNetwork, err))
		}
		cfg := cn.Btc
		cfg.URL, cfg.Params = cn.URL, params
		if cfg.Log == nil {
			cfg.Log = n.log.With("chain", string(cn.Chain))
		}
		s, err := btcrpc.NewRPCSource(cfg)
		if err != nil {
			return nil, nil, "", err
		}
		return s, func() {}, "", nil
	case chain.Tron:
		s, err := tron.NewSource(ctx, cn.URL, cn.Tron)
		if err != nil {
			return nil, nil, "", err
		}
		return s, func() {}, "", nil
	}
	return nil, nil, "", inputErr(fmt.Errorf("chain %q: no node source (eth, btc or tron)", cn.Chain))
}
