package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/node"
)

// followOptions let a server ingest new blocks itself: the store is
// single-process, so a server sees only the blocks it ingests.
type followOptions struct {
	eth                        ethNode
	btc                        btcNode
	tron                       tronNode
	ethConf, btcConf, tronConf uint64
	poll, watchEvery           time.Duration
	batch                      int
	webhook                    string
}

func (f *followOptions) addFlags(fl *pflag.FlagSet) {
	f.eth.addFlags(fl, "follow-eth", "eth-")
	f.btc.addFlags(fl, "follow-btc", "btc-")
	f.tron.addFlags(fl, "follow-tron", "tron-")
	fl.Uint64Var(&f.tronConf, "tron-confirmations", 20, "stay this many blocks behind the Tron node's head (a block is final after about 19)")
	fl.Uint64Var(&f.ethConf, "eth-confirmations", 0, "stay this many blocks behind the Ethereum node's head")
	fl.Uint64Var(&f.btcConf, "btc-confirmations", 0, "stay this many blocks behind the Bitcoin node's head")
	fl.DurationVar(&f.poll, "follow-poll", time.Second, "how often to ask the nodes for a new head")
	fl.IntVar(&f.batch, "follow-batch", 0, "blocks per atomic write while catching up (default 100)")
	fl.DurationVar(&f.watchEvery, "watch-interval", 10*time.Second, "rerun watches at most this often while catching up")
	fl.StringVar(&f.webhook, "alert-webhook", "", "also POST each watch alert as JSON to this URL")
}

// followers are the chains the flags ask the server to follow.
func (f *followOptions) followers(a *app) []node.Follower {
	var fs []node.Follower
	o := ingest.Options{Poll: f.poll, Batch: f.batch}
	if f.eth.url != "" {
		eo := o
		eo.Confirmations = f.ethConf
		fs = append(fs, node.Follower{Chain: chain.Ethereum, Options: eo, WatchEvery: f.watchEvery,
			Open: func(ctx context.Context) (ingest.NodeSource, func(), error) {
				src, err := f.eth.open(ctx, a.log, a.stderr)
				if err != nil {
					return nil, nil, err
				}
				return src, src.Close, nil
			}})
	}
	if f.btc.cfg.URL != "" {
		bo := o
		bo.Confirmations = f.btcConf
		fs = append(fs, node.Follower{Chain: chain.Bitcoin, Options: bo, WatchEvery: f.watchEvery,
			Open: func(context.Context) (ingest.NodeSource, func(), error) {
				src, err := f.btc.open()
				if err != nil {
					return nil, nil, err
				}
				return src, func() {}, nil
			}})
	}
	if f.tron.url != "" {
		to := o
		to.Confirmations = f.tronConf
		fs = append(fs, node.Follower{Chain: chain.Tron, Options: to, WatchEvery: f.watchEvery,
			Open: func(ctx context.Context) (ingest.NodeSource, func(), error) {
				src, err := f.tron.open(ctx)
				if err != nil {
					return nil, nil, err
				}
				return src, func() {}, nil
			}})
	}
	return fs
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
