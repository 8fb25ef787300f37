package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
)

// followOptions let a server ingest new blocks itself: the store is
// single-process, so a server sees only the blocks it ingests.
type followOptions struct {
	eth              ethNode
	btc              btcNode
	ethConf, btcConf uint64
	poll, watchEvery time.Duration
	batch            int
	webhook          string
}

// Pauses before following again after a failure.
const (
	followRetryMin = time.Second
	followRetryMax = time.Minute
)

func (f *followOptions) addFlags(fl *pflag.FlagSet) {
	f.eth.addFlags(fl, "follow-eth", "eth-")
	f.btc.addFlags(fl, "follow-btc", "btc-")
	fl.Uint64Var(&f.ethConf, "eth-confirmations", 0, "stay this many blocks behind the Ethereum node's head")
	fl.Uint64Var(&f.btcConf, "btc-confirmations", 0, "stay this many blocks behind the Bitcoin node's head")
	fl.DurationVar(&f.poll, "follow-poll", time.Second, "how often to ask the nodes for a new head")
	fl.IntVar(&f.batch, "follow-batch", 0, "blocks per atomic write while catching up (default 100)")
	fl.DurationVar(&f.watchEvery, "watch-interval", 10*time.Second, "rerun watches at most this often while catching up")
	fl.StringVar(&f.webhook, "alert-webhook", "", "also POST each watch alert as JSON to this URL")
}

// follower keeps one chain current from a node.
type follower struct {
	c     chain.Chain
	src   ingest.NodeSource
	close func()
	o     ingest.Options
	wa    *watcher
}

// startFollowers connects to the nodes given and ingests their blocks
// until ctx ends, rerunning the watches after each batch as ingest
// --watch does. A node that cannot be reached at start is an error; one
// that fails later is retried, since the server has other work. wait
// returns once every follower has stopped, each after a whole batch, so
// the store's checkpoint is intact.
func (a *app) startFollowers(ctx context.Context, svc *service, f followOptions, reg prometheus.Registerer, out io.Writer) (wait func(), err error) {
	var fs []*follower
	defer func() {
		if err != nil {
			for _, fl := range fs {
				fl.close()
			}
		}
	}()
	if f.eth.url != "" {
		src, err := f.eth.open(ctx, a.log, a.stderr)
		if err != nil {
			return nil, fmt.Errorf("--follow-eth: %w", err)
		}
		fs = append(fs, &follower{c: chain.Ethereum, src: src, close: src.Close, o: ingest.Options{Confirmations: f.ethConf}})
	}
	if f.btc.cfg.URL != "" {
		src, err := f.btc.open()
		if err != nil {
			return nil, fmt.Errorf("--follow-btc: %w", err)
		}
		fs = append(fs, &follower{c: chain.Bitcoin, src: src, close: func() {}, o: ingest.Options{Confirmations: f.btcConf}})
	}
	var wg sync.WaitGroup
	if len(fs) == 0 {
		return wg.Wait, nil
	}
	metrics := ingest.NewMetrics(reg)
	for _, fl := range fs {
		fl.o.Follow, fl.o.Poll, fl.o.Batch, fl.o.Metrics, fl.o.Log = true, f.poll, f.batch, metrics, a.log
		fl.wa = &watcher{svc: svc, out: out, log: a.log, webhook: f.webhook, every: f.watchEvery, keepGoing: true}
		wg.Go(func() {
			defer fl.close()
			a.follow(ctx, svc, fl)
		})
	}
	return wg.Wait, nil
}

// follow runs a follower until ctx ends, starting again from the stored
// tip after a failure, waiting longer after each one in a row.
func (a *app) follow(ctx context.Context, svc *service, fl *follower) {
	log := a.log.With("chain", string(fl.c), "source", fl.src.ID())
	log.Info("following")
	for wait := followRetryMin; ; wait = min(2*wait, followRetryMax) {
		st, err := ingestWatched(ctx, svc.db.Graph(), fl.c, fl.o, fl.wa, runNode(fl.src))
		if ctx.Err() != nil {
			tip, _, _ := svc.db.Graph().Tip(context.WithoutCancel(ctx), fl.c)
			log.Info("stopped following; the next start resumes after the stored tip", "tip", tip.Height)
			return
		}
		if err == nil {
			err = errors.New("the ingest ended") // a follow ends only on error or ctx
		}
		if st.Blocks > 0 {
			wait = followRetryMin
		}
		log.Error("following failed; starting again from the stored tip", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// syncWriter lets followers of several chains print alerts to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
