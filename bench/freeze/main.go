// Command freeze measures the time to freeze: a thief's funds swept from
// a fresh deposit address into a tagged exchange hot wallet on a geth
// --dev chain, until a partner node's screening flags the deposit
// address. Two nodes run in this process and serve over loopback HTTP:
// the investigator follows geth with a watch on the thief shared as
// TLP:AMBER into a collection, and the partner (an exchange) polls that
// collection into its screening index.
//
// Each round the thief pays a fresh deposit address, and once the
// investigator holds that block, after a random pause, the deposit
// address sweeps what it received to the hot wallet, as exchanges do;
// the deposit-address heuristic then names it, the watch alerts and
// publishes it. The clock starts when eth_getTransactionReceipt returns
// the sweep's receipt and stops when the partner's index flags the
// address (then checked through the partner's Screen). The breakdown,
// from the same start: the sweep's head announced over WebSocket (a
// subscription of the harness's own), its block stored by the follower,
// the watch's alert raised and published, the partner flagged.
//
// The same rounds run twice against one store: with the follower
// subscribed to new heads over WebSocket, and with it polling only
// (every -poll), the anchor.
//
// The background store: -transfers synthetic transfers between a Zipf
// population (a few busy addresses, a long tail) are bulk-loaded into
// the investigator's store before it follows geth, as heights 1..K of
// the dev chain itself. The harness first has geth seal K blocks, then
// writes the synthetic blocks with geth's own hashes and parents in
// place of those blocks' contents, so the follower resumes at K+1 and
// checks block K+1's parent against a stored hash that matches, as it
// would after any bulk import. The exchange hot wallet is the busiest
// address of the background (it sends and receives throughout), so the
// watch's trace and the deposit heuristic read a large history, not a
// fresh one.
//
//	go run ./bench/freeze -transfers 10000000 -rounds 20
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

func main() {
	transfers := flag.Int("transfers", 100_000, "synthetic transfers in the investigator's store before it follows geth")
	perBlock := flag.Int("per-block", 50_000, "synthetic transfers per background block")
	rounds := flag.Int("rounds", 10, "sweeps measured in each mode")
	poll := flag.Duration("poll", time.Second, "the follower's poll interval (in the heads mode, the fallback)")
	peerPoll := flag.Duration("peer-poll", 250*time.Millisecond, "how often the partner polls the investigator's collection")
	modes := flag.String("modes", "heads,poll", "follower modes to measure, in order: heads (WebSocket newHeads) and poll")
	verbose := flag.Bool("v", false, "log the nodes' messages")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each mode's rounds to this file name with .MODE appended")
	flag.Parse()
	log.SetFlags(0)
	h := &harness{rounds: *rounds, poll: *poll, peerPoll: *peerPoll, verbose: *verbose, cpuProfile: *cpuProfile}
	tb := &processTB{}
	// An interrupted run still stops geth and removes its directories.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		log.Print("interrupted")
		tb.cleanup()
		os.Exit(1)
	}()
	code := 0
	func() {
		defer tb.cleanup()
		defer func() {
			if r := recover(); r != nil && r != errFatal {
				panic(r)
			} else if r != nil {
				code = 1
			}
		}()
		if err := h.run(tb, *transfers, *perBlock, strings.Split(*modes, ",")); err != nil {
			log.Print(err)
			code = 1
		}
	}()
	os.Exit(code)
}

// harness is one run: geth, the investigator's store, and the partner of
// the mode being measured.
type harness struct {
	rounds         int
	poll, peerPoll time.Duration
	verbose        bool
	cpuProfile     string

	g       *nodetest.Geth
	ws      string
	heads   *headLog
	thief   *ecdsa.PrivateKey
	hot     string
	invDir  string
	packDir string
	invAddr string
	// partnerKey is the investigator's key for the partner's poller.
	partnerKey string
	partner    *node.Node
	idx        *screen.Index
}

// the watch's name and collection.
const (
	watchName  = "theft"
	collection = "theft-alerts"
)

func (h *harness) run(tb *processTB, transfers, perBlock int, modes []string) error {
	ctx := node.AsActor(context.Background(), "bench")
	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadAvg())
	wsPort, err := nodetest.FreePort()
	if err != nil {
		return err
	}
	h.g = nodetest.StartGeth(tb, nodetest.GethOptions{Args: []string{"--ws", "--ws.addr", "127.0.0.1", "--ws.port", strconv.Itoa(wsPort), "--ws.api", "eth,net,web3"}})
	h.ws = "ws://127.0.0.1:" + strconv.Itoa(wsPort)
	if h.heads, err = watchHeads(ctx, h.ws); err != nil {
		return err
	}

	// Heights 1..K for the background, then the thief's funds in K+1,
	// which the follower ingests.
	k := max(1, (transfers+perBlock-1)/perBlock)
	start := time.Now()
	hashes, times, err := h.sealBlocks(ctx, k)
	if err != nil {
		return err
	}
	fmt.Printf("geth sealed %d blocks for the background in %s\n", k, time.Since(start).Round(time.Millisecond))
	if h.thief, err = crypto.GenerateKey(); err != nil {
		return err
	}
	tx, err := h.g.Pay(ctx, crypto.PubkeyToAddress(h.thief.PublicKey), new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18)))
	if err != nil {
		return err
	}
	funded, err := h.receipt(ctx, tx)
	if err != nil {
		return err
	}

	h.invDir, h.packDir = tb.TempDir(), tb.TempDir()
	inv, err := h.open(h.invDir)
	if err != nil {
		return err
	}
	bg := newBackground(transfers, perBlock, hashes, times)
	h.hot = bg.addr(0)
	start = time.Now()
	st, err := inv.Ingest(ctx, node.Ingest{Chain: chain.Ethereum, Stream: bg, Options: ingest.Options{From: 1}})
	if err != nil {
		return fmt.Errorf("background: %w", err)
	}
	fmt.Printf("background: %d transfers in blocks 1-%d bulk-loaded in %s; hot wallet %s\n", st.Transfers, k, time.Since(start).Round(time.Millisecond), h.hot)
	if err := h.setUp(ctx, inv); err != nil {
		return err
	}
	if err := inv.Close(); err != nil {
		return err
	}

	results := map[string][]round{}
	for _, mode := range modes {
		rs, err := h.measure(ctx, tb, mode, funded.BlockNumber.Uint64())
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results[mode] = rs
	}
	h.report(modes, results, transfers)
	return nil
}

// sealBlocks has geth seal k blocks of one payment each and returns
// their hashes and times by height (index 0 is the genesis).
func (h *harness) sealBlocks(ctx context.Context, k int) ([]common.Hash, []time.Time, error) {
	sink := common.HexToAddress("0x5ee0000000000000000000000000000000005ee0")
	for {
		head, err := h.g.Client.BlockNumber(ctx)
		if err != nil {
			return nil, nil, err
		}
		if head >= uint64(k) {
			break
		}
		tx, err := h.g.Pay(ctx, sink, big.NewInt(1))
		if err != nil {
			return nil, nil, err
		}
		if _, err := h.receipt(ctx, tx); err != nil {
			return nil, nil, err
		}
	}
	hashes, times := make([]common.Hash, k+1), make([]time.Time, k+1)
	for i := 0; i <= k; i++ {
		hd, err := h.g.Client.HeaderByNumber(ctx, big.NewInt(int64(i)))
		if err != nil {
			return nil, nil, err
		}
		hashes[i], times[i] = hd.Hash(), time.Unix(int64(hd.Time), 0).UTC()
	}
	return hashes, times, nil
}

// receipt polls for a transaction's receipt every 2 ms, so that the
// clock starts within a few milliseconds of the receipt existing.
func (h *harness) receipt(ctx context.Context, tx common.Hash) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		r, err := h.g.Client.TransactionReceipt(ctx, tx)
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return nil, fmt.Errorf("transaction %s failed", tx.Hex())
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("receipt of %s: %w", tx.Hex(), err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (h *harness) open(dir string) (*node.Node, error) {
	lg := slog.New(slog.DiscardHandler)
	if h.verbose {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return node.Open(context.Background(), node.Config{DataDir: dir, Logger: lg})
}

// setUp gives the investigator an identity, the exchange's tag, the
// collection and the partner's key, and the shared watch on the thief.
func (h *harness) setUp(ctx context.Context, inv *node.Node) error {
	if _, err := inv.SetIdentity(ctx, "Investigator"); err != nil {
		return err
	}
	pack := filepath.Join(h.packDir, "exchange.yaml")
	err := os.WriteFile(pack, []byte(`title: Exchanges
creator: bench
lastmod: 2026-01-01
confidence: service_data
currency: ETH
tags:
- address: `+h.hot+`
  label: Exchange One
  category: exchange
`), 0o644)
	if err != nil {
		return err
	}
	if _, err := inv.ImportTagsPath(ctx, pack); err != nil {
		return err
	}
	if err := inv.PutCollection(ctx, taxii.Collection{ID: collection, Title: collection, CanRead: []string{"exchange"}}); err != nil {
		return err
	}
	_, secret, err := inv.CreateKey(ctx, "exchange", []auth.Role{auth.RoleTAXIIRead}, intel.TLPAmber)
	if err != nil {
		return err
	}
	port, err := nodetest.FreePort()
	if err != nil {
		return err
	}
	h.invAddr = "127.0.0.1:" + strconv.Itoa(port)
	h.partnerKey = secret
	return nil
}

// addWatch saves the shared watch on the thief, once the follower holds
// the thief's funds.
func (h *harness) addWatch(ctx context.Context, inv *node.Node) error {
	if ws, err := inv.Watches(ctx); err != nil || len(ws) > 0 {
		return err
	}
	thief := strings.ToLower(crypto.PubkeyToAddress(h.thief.PublicKey).Hex())
	req, err := trace.Spec{Chain: "eth", Seeds: []string{thief}}.Request(inv.Parser(), lookupEth)
	if err != nil {
		return err
	}
	_, _, err = inv.AddWatch(ctx, watchName, req, &watch.Share{Collection: collection, TLP: intel.TLPAmber})
	return err
}

func lookupEth(name string) (chain.Chain, error) {
	if name != "eth" {
		return "", fmt.Errorf("chain %q: eth only", name)
	}
	return chain.Ethereum, nil
}

// startPartner opens and serves a partner exchange's node in a fresh
// directory, polling the investigator's collection, until stop.
func (h *harness) startPartner(ctx context.Context, tb *processTB) (stop func(), err error) {
	if h.partner, err = h.open(tb.TempDir()); err != nil {
		return nil, err
	}
	if err := h.partner.AddPeer(ctx, node.PeerSpec{Name: "investigator", URL: "http://" + h.invAddr, Collection: collection, Key: h.partnerKey}); err != nil {
		return nil, err
	}
	if h.idx, err = h.partner.Index(ctx); err != nil {
		return nil, err
	}
	stopServe, err := serve(ctx, h.partner, node.ServeConfig{Addr: "127.0.0.1:0", Poll: h.peerPoll})
	if err != nil {
		return nil, err
	}
	return func() {
		if err := stopServe(); err != nil {
			log.Printf("partner: %v", err)
		}
		h.partner.Close()
	}, nil
}

// serve serves n until the returned stop is called.
func serve(ctx context.Context, n *node.Node, c node.ServeConfig) (stop func() error, err error) {
	sctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	c.Ready = func(string) { close(ready) }
	go func() { done <- n.Serve(sctx, c) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		return nil, err
	}
	return func() error { cancel(); return <-done }, nil
}

// round is one sweep's timeline, each time from the sweep's receipt; a
// negative time came before it (a head announced before the receipt
// poll saw it).
type round struct {
	block                        uint64
	head, stored, alert, flagged time.Duration
	headOK, storedOK, alertOK    bool
}

// measure runs the rounds with the investigator following geth in one
// mode.
func (h *harness) measure(ctx context.Context, tb *processTB, mode string, funded uint64) ([]round, error) {
	opts := ethrpc.SourceOptions{Traces: ethrpc.TracesOff}
	switch mode {
	case "heads":
		opts.HeadsURL = h.ws
	case "poll":
	default:
		return nil, fmt.Errorf("mode %q: want heads or poll", mode)
	}
	inv, err := h.open(h.invDir)
	if err != nil {
		return nil, err
	}
	defer inv.Close()
	stored := newStamps[uint64]()
	alerts := newStamps[string]()
	inv.OnAlerts(func(_ context.Context, as []watch.Alert) {
		for _, a := range as {
			if a.Shared != nil {
				alerts.mark(a.Address)
			}
		}
	})
	f := node.Follower{Node: node.ChainNode{Chain: chain.Ethereum, URL: h.g.URL, Eth: opts},
		Options: ingest.Options{Poll: h.poll, Progress: func(p ingest.Progress) { stored.mark(p.Height) }}}
	start := time.Now()
	stop, err := serve(ctx, inv, node.ServeConfig{Addr: h.invAddr, Poll: h.peerPoll, Followers: []node.Follower{f}})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := stop(); err != nil {
			log.Printf("investigator: %v", err)
		}
	}()
	fmt.Printf("\n%s: investigator serving in %s", mode, time.Since(start).Round(time.Millisecond))
	if err := waitFor(ctx, 5*time.Minute, func() bool { return h.tip(ctx, inv) >= funded }); err != nil {
		return nil, fmt.Errorf("the follower did not catch up: %w", err)
	}
	fmt.Printf(", caught up %s after the start\n", time.Since(start).Round(time.Millisecond))
	if err := h.addWatch(ctx, inv); err != nil {
		return nil, err
	}
	// A partner of its own for each mode, started once the investigator
	// serves: a partner that found it down would be backing off.
	stopPartner, err := h.startPartner(ctx, tb)
	if err != nil {
		return nil, err
	}
	defer stopPartner()
	fmt.Printf("compaction debt of the investigator's store: %d MB\n", inv.Store().Graph().CompactionDebt()>>20)
	if h.cpuProfile != "" {
		f, err := os.Create(h.cpuProfile + "." + mode)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println("round  block  head-seen  stored  alert+published  partner-flagged")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var out []round
	for i := range h.rounds {
		rd, err := h.sweep(ctx, inv, r, stored, alerts)
		if err != nil {
			return out, fmt.Errorf("round %d: %w", i+1, err)
		}
		out = append(out, rd)
		fmt.Printf("%5d %6d %10s %7s %16s %16s\n", i+1, rd.block, show(rd.head, rd.headOK), show(rd.stored, rd.storedOK), show(rd.alert, rd.alertOK), ms(rd.flagged))
	}
	return out, nil
}

func (h *harness) tip(ctx context.Context, n *node.Node) uint64 {
	t, _, _ := n.Store().Graph().Tip(ctx, chain.Ethereum)
	return t.Height
}

// sweep runs one round: the thief pays a fresh deposit address; once
// the investigator holds it, after a pause that spreads the sweeps over
// the follower's and the partner's poll phases, the deposit sweeps to
// the hot wallet.
func (h *harness) sweep(ctx context.Context, inv *node.Node, r *rand.Rand, stored *stamps[uint64], alerts *stamps[string]) (round, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return round{}, err
	}
	dep := crypto.PubkeyToAddress(key.PublicKey)
	depHex := strings.ToLower(dep.Hex())
	value := new(big.Int).Mul(big.NewInt(1), big.NewInt(1e18))
	tx, err := h.g.PayFrom(ctx, h.thief, dep, value)
	if err != nil {
		return round{}, err
	}
	paid, err := h.receipt(ctx, tx)
	if err != nil {
		return round{}, err
	}
	if err := waitFor(ctx, time.Minute, func() bool { return h.tip(ctx, inv) >= paid.BlockNumber.Uint64() }); err != nil {
		return round{}, fmt.Errorf("the deposit's block not stored: %w", err)
	}
	time.Sleep(time.Duration(r.Int64N(int64(max(h.poll, h.peerPoll)))))

	// The sweep takes what arrived less the most the fee can be (the fee
	// cap times 21,000 gas); what the fee leaves is dust.
	sweepValue := new(big.Int).Sub(value, big.NewInt(21000*100e9))
	tx, err = h.g.PayFrom(ctx, key, common.HexToAddress(h.hot), sweepValue)
	if err != nil {
		return round{}, err
	}
	rec, err := h.receipt(ctx, tx)
	if err != nil {
		return round{}, err
	}
	t0 := time.Now()
	rd := round{block: rec.BlockNumber.Uint64()}
	a := chain.Address{Chain: chain.Ethereum, Value: depHex}
	for len(h.idx.Lookup(a).Intel) == 0 {
		if time.Since(t0) > 30*time.Second {
			return rd, fmt.Errorf("deposit address %s not flagged at the partner within 30 s of the sweep's receipt (stored %v, alert %v)",
				depHex, stored.has(rd.block), alerts.has(depHex))
		}
		time.Sleep(500 * time.Microsecond)
	}
	rd.flagged = time.Since(t0)
	res, err := h.partner.Screen(ctx, []screen.Query{{Address: depHex, Chain: chain.Ethereum}})
	if err != nil {
		return rd, err
	}
	if len(res) != 1 || len(res[0].Intel) == 0 {
		return rd, fmt.Errorf("the partner's index flags %s, but its screening does not: %+v", depHex, res)
	}
	var at time.Time
	if at, rd.headOK = h.heads.get(rd.block); rd.headOK {
		rd.head = at.Sub(t0)
	}
	if at, rd.storedOK = stored.get(rd.block); rd.storedOK {
		rd.stored = at.Sub(t0)
	}
	if at, rd.alertOK = alerts.get(depHex); rd.alertOK {
		rd.alert = at.Sub(t0)
	}
	return rd, nil
}

func (h *harness) report(modes []string, results map[string][]round, transfers int) {
	fmt.Printf("\nsummary (%d transfers in the background, partner polling every %s, follower poll %s):\n", transfers, h.peerPoll, h.poll)
	med := map[string]time.Duration{}
	for _, m := range modes {
		rs := results[m]
		pick := func(f func(round) (time.Duration, bool)) []time.Duration {
			var ds []time.Duration
			for _, r := range rs {
				if d, ok := f(r); ok {
					ds = append(ds, d)
				}
			}
			return ds
		}
		flagged := pick(func(r round) (time.Duration, bool) { return r.flagged, true })
		med[m] = quantile(flagged, 0.5)
		fmt.Printf("  %-5s to flag: median %s, p90 %s, max %s (%d rounds); medians: head seen %s, stored %s, alert+published %s\n", m,
			ms(med[m]), ms(quantile(flagged, 0.9)), ms(quantile(flagged, 1)), len(rs),
			ms(quantile(pick(func(r round) (time.Duration, bool) { return r.head, r.headOK }), 0.5)),
			ms(quantile(pick(func(r round) (time.Duration, bool) { return r.stored, r.storedOK }), 0.5)),
			ms(quantile(pick(func(r round) (time.Duration, bool) { return r.alert, r.alertOK }), 0.5)))
	}
	if h, p := med["heads"], med["poll"]; h > 0 && p > 0 {
		fmt.Printf("  poll/heads median ratio: %.2fx\n", float64(p)/float64(h))
	}
}

// quantile is the q-quantile of ds by the nearest rank; 0 if empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }

func show(d time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return ms(d)
}

func waitFor(ctx context.Context, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	return "load average " + strings.Join(strings.Fields(string(b))[:3], " ")
}

// stamps records when each key was first seen.
type stamps[K comparable] struct {
	mu sync.Mutex
	at map[K]time.Time
}

func newStamps[K comparable]() *stamps[K] { return &stamps[K]{at: map[K]time.Time{}} }

func (s *stamps[K]) mark(k K) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[k]; !ok {
		s.at[k] = now
	}
}

func (s *stamps[K]) get(k K) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[k]
	return t, ok
}

func (s *stamps[K]) has(k K) bool { _, ok := s.get(k); return ok }

// headLog is the harness's own subscription to geth's new heads: when
// each height was announced.
type headLog struct{ *stamps[uint64] }

func watchHeads(ctx context.Context, ws string) (*headLog, error) {
	c, err := ethclient.DialContext(ctx, ws)
	if err != nil {
		return nil, err
	}
	in := make(chan *types.Header, 64)
	sub, err := c.SubscribeNewHead(ctx, in)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribe to new heads: %w", err)
	}
	l := &headLog{newStamps[uint64]()}
	go func() {
		defer c.Close()
		for {
			select {
			case hd := <-in:
				l.mark(hd.Number.Uint64())
			case <-sub.Err():
				return
			}
		}
	}()
	return l, nil
}

// errFatal is the panic processTB.Fatal stops the harness with.
var errFatal = errors.New("fatal")

// processTB is the testing.TB nodetest asks for, for a program: Fatal
// logs and unwinds to main, TempDir and Cleanup last until it returns.
// Methods nodetest does not call are left to the nil embedded TB.
type processTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
	failed   bool
}

func (t *processTB) Helper()                   {}
func (t *processTB) Name() string              { return "freeze" }
func (t *processTB) Logf(f string, a ...any)   { log.Printf(f, a...) }
func (t *processTB) Log(a ...any)              { log.Print(a...) }
func (t *processTB) Failed() bool              { return t.failed }
func (t *processTB) Errorf(f string, a ...any) { t.failed = true; log.Printf(f, a...) }
func (t *processTB) Error(a ...any)            { t.failed = true; log.Print(a...) }
func (t *processTB) Fatal(a ...any)            { t.Error(a...); panic(errFatal) }
func (t *processTB) Fatalf(f string, a ...any) { t.Errorf(f, a...); panic(errFatal) }

func (t *processTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *processTB) TempDir() string {
	d, err := os.MkdirTemp("", "freeze-*")
	if err != nil {
		t.Fatal(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirs = append(t.dirs, d)
	return d
}

func (t *processTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	for _, d := range t.dirs {
		os.RemoveAll(d)
	}
}
