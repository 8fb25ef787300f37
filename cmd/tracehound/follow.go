package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/node"
)

// followOptions let a server ingest new blocks itself: the store is
// single-process, so a server sees only the blocks it ingests.
type followOptions struct {
	nodes            []*node.ChainNode
	conf             map[chain.Chain]*uint64
	poll, watchEvery time.Duration
	batch            int
	webhook          string
}

func (f *followOptions) addFlags(fl *pflag.FlagSet) {
	f.conf = map[chain.Chain]*uint64{}
	for _, c := range []struct {
		chain        chain.Chain
		name         string
		conf         uint64
		confFootnote string
	}{
		{chain.Ethereum, "eth", 0, ""},
		{chain.Bitcoin, "btc", 0, ""},
		{chain.Tron, "tron", 20, " (a block is final after about 19)"},
	} {
		cn := &node.ChainNode{Chain: c.chain}
		addChainNodeFlags(fl, cn, "follow-"+c.name, c.name+"-")
		f.nodes = append(f.nodes, cn)
		f.conf[c.chain] = fl.Uint64(c.name+"-confirmations", c.conf, "stay this many blocks behind the "+c.name+" node's head"+c.confFootnote)
	}
	fl.DurationVar(&f.poll, "follow-poll", time.Second, "how often to ask the nodes for a new head")
	fl.IntVar(&f.batch, "follow-batch", 0, "blocks per atomic write while catching up (default 100)")
	fl.DurationVar(&f.watchEvery, "watch-interval", 10*time.Second, "rerun watches at most this often while catching up")
	fl.StringVar(&f.webhook, "alert-webhook", "", "also POST each watch alert as JSON to this URL")
}

// followers are the chains the flags ask the server to follow.
func (f *followOptions) followers() []node.Follower {
	var fs []node.Follower
	for _, cn := range f.nodes {
		if cn.URL != "" {
			o := ingest.Options{Poll: f.poll, Batch: f.batch, Confirmations: *f.conf[cn.Chain]}
			fs = append(fs, node.Follower{Node: *cn, Options: o, WatchEvery: f.watchEvery})
		}
	}
	return fs
}

// addChainNodeFlags registers how to reach cn's node: its URL as
// urlFlag, the other settings under prefix.
func addChainNodeFlags(fl *pflag.FlagSet, cn *node.ChainNode, urlFlag, prefix string) {
	switch cn.Chain {
	case chain.Ethereum:
		fl.StringVar(&cn.URL, urlFlag, "", "Ethereum node JSON-RPC URL (http, https, ws, wss)")
		fl.StringVar(&cn.Eth.Traces, prefix+"traces", ethrpc.TracesAuto, "internal transfers from debug_traceBlockByNumber: auto, on or off")
		fl.IntVar(&cn.Eth.Concurrency, prefix+"concurrency", ethrpc.DefaultConcurrency, "JSON-RPC batches in flight")
		fl.IntVar(&cn.Eth.BatchSize, prefix+"rpc-batch", ethrpc.DefaultBatchSize, "blocks per JSON-RPC batch")
		fl.IntVar(&cn.Eth.Retries, prefix+"retries", ethrpc.DefaultRetries, "retries of a failed request before giving up")
		fl.StringVar(&cn.Eth.HeadsURL, prefix+"heads-url", "", "the node's WebSocket URL (ws, wss) to subscribe to new heads on when its JSON-RPC URL is http; a ws URL subscribes on its own")
	case chain.Bitcoin:
		fl.StringVar(&cn.BtcNetwork, prefix+"net", "mainnet", "network: mainnet, testnet3, testnet4, signet, regtest, simnet")
		fl.StringVar(&cn.URL, urlFlag, "", "Bitcoin node JSON-RPC URL, e.g. http://127.0.0.1:8332")
		fl.StringVar(&cn.Btc.User, prefix+"rpc-user", "", "RPC user")
		fl.StringVar(&cn.Btc.Pass, prefix+"rpc-pass", os.Getenv("TRACEHOUND_BTC_RPC_PASS"), "RPC password (default $TRACEHOUND_BTC_RPC_PASS)")
		fl.StringVar(&cn.Btc.CookieFile, prefix+"rpc-cookie", "", "Bitcoin Core .cookie file (instead of user and password)")
		fl.StringVar(&cn.Btc.CAFile, prefix+"rpc-cert", "", "certificate to trust for https (btcd's rpc.cert)")
		fl.IntVar(&cn.Btc.Concurrency, prefix+"concurrency", 0, "requests in flight (default 4)")
	case chain.Tron:
		fl.StringVar(&cn.URL, urlFlag, "", "java-tron node HTTP API URL, e.g. http://127.0.0.1:8090")
		fl.StringVar(&cn.Tron.APIKey, prefix+"api-key", os.Getenv("TRACEHOUND_TRON_API_KEY"), "TRON-PRO-API-KEY for a hosted node (default $TRACEHOUND_TRON_API_KEY)")
		fl.IntVar(&cn.Tron.Concurrency, prefix+"concurrency", 0, "requests in flight (default 4)")
		fl.IntVar(&cn.Tron.BatchSize, prefix+"rpc-batch", 0, "blocks per request, at most 100 (default 20)")
	}
}

// syncedStdout lets followers of several chains print alerts to one
// writer.
func (a *app) syncedStdout() io.Writer {
	a.stdoutOnce.Do(func() { a.stdoutSync = &syncWriter{w: a.stdout} })
	return a.stdoutSync
}

// syncWriter serialises writes.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
