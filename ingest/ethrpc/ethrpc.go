// Package ethrpc reads Ethereum blocks from a node's JSON-RPC: batched,
// concurrent requests with retries; native transfers, receipts (a failed
// transaction moves nothing but pays its fee), ERC-20 Transfer logs, and
// internal transfers from callTracer where the node offers it.
package ethrpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/tracehound/tracehound/chain"
)

// Trace modes for SourceOptions.Traces.
const (
	// TracesAuto asks the node once whether it traces blocks with
	// callTracer and ingests internal transfers only if it does.
	TracesAuto = "auto"
	// TracesOn requires traces: a node that refuses them is an error.
	TracesOn = "on"
	// TracesOff never asks for traces: no internal transfers.
	TracesOff = "off"
)

// NoTracesWarning is what Source.Warning says when a node in auto mode
// refuses call traces.
const NoTracesWarning = "node does not offer debug_traceBlockByNumber with callTracer: internal transfers are not ingested"

// Default SourceOptions.
const (
	DefaultConcurrency = 4
	DefaultBatchSize   = 10
	DefaultRetries     = 5
	DefaultBackoff     = 200 * time.Millisecond
	DefaultTimeout     = 2 * time.Minute
	// maxBackoff caps the doubling wait between retries.
	maxBackoff = 10 * time.Second
	// maxBatchCalls bounds the calls in one JSON-RPC batch: geth refuses
	// batches of more than 1000 by default and hosted providers allow fewer.
	maxBatchCalls = 250
)

// SourceOptions tune how a Source reads a node. The zero value gives the
// defaults.
type SourceOptions struct {
	// Concurrency is the number of batches in flight at once (default 4).
	Concurrency int
	// BatchSize is the number of blocks per JSON-RPC batch (default 10).
	BatchSize int
	// Retries is how often a failed request is sent again before giving
	// up (default 5; negative for none).
	Retries int
	// Backoff is the wait before the first retry; it doubles after each,
	// up to 10 s (default 200 ms).
	Backoff time.Duration
	// Timeout bounds one request to the node (default 2 min).
	Timeout time.Duration
	// Traces is TracesAuto (the default when empty), TracesOn or TracesOff.
	Traces string
	// HeadsURL is a WebSocket endpoint (ws, wss) of the same node to
	// subscribe to new heads on, for a node read over http(s): blocks
	// are then ingested the moment they exist rather than at the next
	// poll. A node read over ws or wss subscribes on its own connection.
	HeadsURL string
}

func (o *SourceOptions) defaults() error {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch o.Traces {
	case "":
		o.Traces = TracesAuto
	case TracesAuto, TracesOn, TracesOff:
	default:
		return fmt.Errorf("traces mode %q: want %s, %s or %s", o.Traces, TracesAuto, TracesOn, TracesOff)
	}
	if o.HeadsURL != "" && !isWebSocket(o.HeadsURL) {
		return fmt.Errorf("heads URL %s: want a ws or wss URL", redactURL(o.HeadsURL))
	}
	return nil
}

// SourceStats count a Source's work since it was made.
type SourceStats struct {
	Requests uint64 // HTTP requests (batches or single calls) sent
	Calls    uint64 // JSON-RPC calls in them
	Retries  uint64 // requests sent again after a failure
	// Wait is the time spent waiting for the node's answers, summed over
	// concurrent requests.
	Wait time.Duration
	// Decode is the time spent decoding answers into blocks.
	Decode time.Duration
}

// Source reads Ethereum blocks with their receipts and, where the node
// offers them, call traces from a node's JSON-RPC API. It implements
// ingest.NodeSource and is safe for concurrent use.
type Source struct {
	c       *rpc.Client
	node    string // the URL without credentials, for messages
	id      string
	opts    SourceOptions
	traces  bool
	warning string
	// ws is set when the node is read over WebSocket, which carries
	// subscriptions.
	ws bool
	// noBlockReceipts is set once the node is found to lack
	// eth_getBlockReceipts; receipts are then read one by one.
	noBlockReceipts atomic.Bool

	requests, calls, retries atomic.Uint64
	wait, decode             atomic.Int64
}

// NewSource connects to the node at rawURL (http, https, ws or wss),
// reads its chain id and, unless traces are off, finds out whether it
// traces blocks.
func NewSource(ctx context.Context, rawURL string, opts SourceOptions) (*Source, error) {
	node := redactURL(rawURL)
	if err := opts.defaults(); err != nil {
		return nil, fmt.Errorf("eth source %s: %w", node, err)
	}
	hc := &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 2 * opts.Concurrency,
		IdleConnTimeout:     90 * time.Second,
	}}
	c, err := rpc.DialOptions(ctx, rawURL, rpc.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("eth source %s: %w", node, err)
	}
	s := &Source{c: c, node: node, opts: opts, ws: isWebSocket(rawURL)}
	var id hexutil.Big
	if err := s.call(ctx, &id, "eth_chainId"); err != nil {
		c.Close()
		return nil, fmt.Errorf("eth source %s: %w", node, err)
	}
	s.id = "eth:" + id.ToInt().String()
	if opts.Traces != TracesOff {
		if err := s.probeTraces(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("eth source %s: %w", node, err)
		}
	}
	return s, nil
}

// probeTraces asks for the latest block's call trace, top calls only so
// that it stays cheap. Any answer but "no such method" shows the node
// traces: even an error such as geth's "genesis is not traceable".
func (s *Source) probeTraces(ctx context.Context) error {
	var res json.RawMessage
	// The node's answer, whatever it is, decides; only transport failures
	// are retried.
	err := s.retry(ctx, func(err error) bool { var re rpc.Error; return errors.As(err, &re) }, &res, "debug_traceBlockByNumber", "latest",
		map[string]any{"tracer": "callTracer", "tracerConfig": map[string]any{"onlyTopCall": true}})
	var re rpc.Error
	switch {
	case err == nil, errors.As(err, &re) && !refusesTraces(re):
		s.traces = true
		return nil
	case errors.As(err, &re):
		if s.opts.Traces == TracesOn {
			return fmt.Errorf("traces are on but the node refuses debug_traceBlockByNumber with callTracer: %w", err)
		}
		s.warning = NoTracesWarning + " (" + re.Error() + ")"
		return nil
	default:
		return err
	}
}

// refusesTraces tells a node that does not offer the method or the tracer
// from one that failed to trace a block. Hosted providers answer with
// varying codes, so the message is read too.
func refusesTraces(e rpc.Error) bool {
	if e.ErrorCode() == -32601 {
		return true
	}
	msg := strings.ToLower(e.Error())
	for _, s := range []string{"does not exist", "not available", "not supported", "unsupported", "not enabled", "not allowed", "not found", "disabled", "unknown method"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Chain is chain.Ethereum.
func (s *Source) Chain() chain.Chain { return chain.Ethereum }

// ID is "eth:" and the node's chain id, e.g. "eth:1".
func (s *Source) ID() string { return s.id }

// Traces reports whether blocks come with internal transfers from call
// traces.
func (s *Source) Traces() bool { return s.traces }

// Warning is NoTracesWarning, with the node's answer, when the node
// refused traces in auto mode; otherwise empty.
func (s *Source) Warning() string { return s.warning }

// Stats returns counters of the work done so far.
func (s *Source) Stats() SourceStats {
	return SourceStats{
		Requests: s.requests.Load(),
		Calls:    s.calls.Load(),
		Retries:  s.retries.Load(),
		Wait:     time.Duration(s.wait.Load()),
		Decode:   time.Duration(s.decode.Load()),
	}
}

// Close closes the connection to the node.
func (s *Source) Close() { s.c.Close() }

// Head is the node's latest block height.
func (s *Source) Head(ctx context.Context) (uint64, error) {
	var h hexutil.Uint64
	if err := s.call(ctx, &h, "eth_blockNumber"); err != nil {
		return 0, fmt.Errorf("eth head: %w", err)
	}
	return uint64(h), nil
}

// HashAt is the hash of the node's block at height.
func (s *Source) HashAt(ctx context.Context, height uint64) (string, error) {
	var b *struct {
		Hash common.Hash `json:"hash"`
	}
	if err := s.call(ctx, &b, "eth_getBlockByNumber", hexutil.EncodeUint64(height), false); err != nil {
		return "", fmt.Errorf("eth block %d hash: %w", height, err)
	}
	if b == nil {
		return "", s.notFound(ctx, height)
	}
	return b.Hash.Hex(), nil
}

// notFound is the error for a block the node does not have.
func (s *Source) notFound(ctx context.Context, height uint64) error {
	head, err := s.Head(ctx)
	if err != nil {
		return fmt.Errorf("block %d not found (head unknown: %v)", height, err)
	}
	return fmt.Errorf("block %d not found (head is %d)", height, head)
}

// Blocks returns blocks from..to inclusive in height order, reading
// BatchSize blocks per batch on Concurrency connections. A request that
// still fails after the retries makes the whole call fail with an error
// naming the batch's block range; no block is ever skipped.
func (s *Source) Blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	if to < from || to-from >= 1<<31 {
		return nil, fmt.Errorf("eth blocks %d-%d: invalid range", from, to)
	}
	for attempt := 0; ; attempt++ {
		blocks, err := s.blocks(ctx, from, to)
		if err != nil {
			return nil, err
		}
		// Batches read at different moments can straddle a reorganisation
		// near the head: read again rather than return a broken chain.
		i := linked(blocks)
		if i == 0 {
			return blocks, nil
		}
		if attempt >= s.opts.Retries {
			return nil, fmt.Errorf("eth blocks %d-%d: block %d's parent %s is not block %d's hash %s: the chain kept reorganising while it was read",
				from, to, blocks[i].Height, blocks[i].Parent, blocks[i-1].Height, blocks[i-1].Hash)
		}
		s.retries.Add(1)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// linked returns 0 if each block is the parent of the next, else the
// index of the first block that does not follow its predecessor.
func linked(blocks []*chain.Block) int {
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Parent != blocks[i-1].Hash {
			return i
		}
	}
	return 0
}

func (s *Source) blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	n := to - from + 1
	bs := uint64(s.opts.BatchSize)
	batches := (n + bs - 1) / bs
	out := make([]*chain.Block, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Uint64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(uint64(s.opts.Concurrency), batches) {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= batches || ctx.Err() != nil {
					return
				}
				lo := from + k*bs
				hi := min(lo+bs-1, to)
				blocks, err := s.batchOfBlocks(ctx, lo, hi)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("eth blocks %d-%d: %w", lo, hi, err) })
					cancel()
					return
				}
				copy(out[lo-from:], blocks)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// inconsistentError is an answer that contradicts another in the same
// batch, as when the chain reorganises between two calls. The batch is
// read again.
type inconsistentError struct{ msg string }

func (e *inconsistentError) Error() string { return e.msg }

func (s *Source) batchOfBlocks(ctx context.Context, lo, hi uint64) ([]*chain.Block, error) {
	for attempt := 0; ; attempt++ {
		blocks, err := s.readBatch(ctx, lo, hi)
		var ie *inconsistentError
		if !errors.As(err, &ie) {
			return blocks, err
		}
		if attempt >= s.opts.Retries {
			return nil, fmt.Errorf("%w (gave up after %d retries)", err, s.opts.Retries)
		}
		s.retries.Add(1)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// readBatch reads blocks lo..hi, their receipts and traces in one
// JSON-RPC batch, and receipts one by one in further batches if the node
// lacks eth_getBlockReceipts.
func (s *Source) readBatch(ctx context.Context, lo, hi uint64) ([]*chain.Block, error) {
	n := int(hi - lo + 1)
	rawBlocks := make([]json.RawMessage, n)
	rawReceipts := make([]json.RawMessage, n)
	rawTraces := make([]json.RawMessage, n)
	blockReceipts := !s.noBlockReceipts.Load()
	calls := make([]*call, 0, 3*n)
	for i := range n {
		h := lo + uint64(i)
		num := hexutil.EncodeUint64(h)
		what := fmt.Sprintf("block %d", h)
		calls = append(calls, &call{method: "eth_getBlockByNumber", args: []any{num, true}, result: &rawBlocks[i], what: what})
		if blockReceipts {
			calls = append(calls, &call{method: "eth_getBlockReceipts", args: []any{num}, result: &rawReceipts[i], what: what})
		}
		// The genesis block has no transactions, and nodes refuse to
		// trace it.
		if s.traces && h > 0 {
			calls = append(calls, &call{method: "debug_traceBlockByNumber", args: []any{num, map[string]string{"tracer": "callTracer"}}, result: &rawTraces[i], what: what})
		}
	}
	if err := s.batch(ctx, calls); err != nil {
		return nil, err
	}
	for _, c := range calls {
		if c.err == nil {
			continue
		}
		if c.method == "eth_getBlockReceipts" && isMethodNotFound(c.err) {
			s.noBlockReceipts.Store(true)
			blockReceipts = false
			continue
		}
		if c.method == "debug_traceBlockByNumber" && isPruned(c.err) {
			return nil, fmt.Errorf("%s %s: %w (the node has pruned the state this block needs: trace against an archive node, e.g. geth --gcmode archive, or ingest with traces off)", c.method, c.what, c.err)
		}
		return nil, fmt.Errorf("%s %s: %w", c.method, c.what, c.err)
	}

	start := time.Now()
	decoded := make([]rpcBlock, n)
	for i := range n {
		h := lo + uint64(i)
		if isNull(rawBlocks[i]) {
			return nil, s.notFound(ctx, h)
		}
		if err := json.Unmarshal(rawBlocks[i], &decoded[i]); err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
		if err := decoded[i].check(h); err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
	}
	s.decode.Add(int64(time.Since(start)))

	receipts := make([][]rpcReceipt, n)
	if blockReceipts {
		start := time.Now()
		for i := range n {
			if isNull(rawReceipts[i]) {
				return nil, fmt.Errorf("block %d: the node has no receipts for it", lo+uint64(i))
			}
			if err := json.Unmarshal(rawReceipts[i], &receipts[i]); err != nil {
				return nil, fmt.Errorf("block %d receipts: %w", lo+uint64(i), err)
			}
		}
		s.decode.Add(int64(time.Since(start)))
	} else if err := s.txReceipts(ctx, lo, decoded, receipts); err != nil {
		return nil, err
	}

	start = time.Now()
	defer func() { s.decode.Add(int64(time.Since(start))) }()
	out := make([]*chain.Block, n)
	for i := range n {
		h := lo + uint64(i)
		var traces []rpcTrace
		if s.traces && h == 0 {
			traces = []rpcTrace{}
		} else if s.traces {
			if isNull(rawTraces[i]) {
				return nil, fmt.Errorf("block %d: the node returned no traces for it", h)
			}
			if err := json.Unmarshal(rawTraces[i], &traces); err != nil {
				return nil, fmt.Errorf("block %d traces: %w", h, err)
			}
			if traces == nil {
				traces = []rpcTrace{}
			}
		}
		b, err := mapBlock(&decoded[i], receipts[i], traces)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
		out[i] = b
	}
	return out, nil
}

// txReceipts reads the receipts of every transaction in blocks one call
// each, for nodes without eth_getBlockReceipts.
func (s *Source) txReceipts(ctx context.Context, lo uint64, blocks []rpcBlock, receipts [][]rpcReceipt) error {
	var calls []*call
	raw := make([][]json.RawMessage, len(blocks))
	for i := range blocks {
		txs := blocks[i].Transactions
		raw[i] = make([]json.RawMessage, len(txs))
		for j := range txs {
			calls = append(calls, &call{
				method: "eth_getTransactionReceipt", args: []any{txs[j].Hash}, result: &raw[i][j],
				what: fmt.Sprintf("block %d tx %s", lo+uint64(i), txs[j].Hash.Hex()),
			})
		}
	}
	if len(calls) > 0 {
		if err := s.batch(ctx, calls); err != nil {
			return err
		}
	}
	for _, c := range calls {
		if c.err != nil {
			return fmt.Errorf("%s %s: %w", c.method, c.what, c.err)
		}
	}
	start := time.Now()
	defer func() { s.decode.Add(int64(time.Since(start))) }()
	for i := range blocks {
		receipts[i] = make([]rpcReceipt, len(raw[i]))
		for j, r := range raw[i] {
			if isNull(r) {
				return fmt.Errorf("block %d tx %s: the node has no receipt for it", lo+uint64(i), blocks[i].Transactions[j].Hash.Hex())
			}
			if err := json.Unmarshal(r, &receipts[i][j]); err != nil {
				return fmt.Errorf("block %d tx %s receipt: %w", lo+uint64(i), blocks[i].Transactions[j].Hash.Hex(), err)
			}
		}
	}
	return nil
}

// call is one JSON-RPC call of a batch.
type call struct {
	method string
	args   []any
	result *json.RawMessage
	what   string // what the call is about, for errors: "block 12"
	err    error  // the node's final answer, if an error
}

// batch makes the calls in batches of at most maxBatchCalls. Transport
// failures and the node's errors are retried with backoff, all but "method
// not found" and pruned state, which are left in the call's err for the
// caller. After the
// last retry it returns the last error.
func (s *Source) batch(ctx context.Context, calls []*call) error {
	pending := calls
	size := min(len(calls), maxBatchCalls)
	for attempt := 0; ; attempt++ {
		var (
			failed   []*call
			last     error
			tooLarge bool
		)
		for len(pending) > 0 {
			part := pending[:min(size, len(pending))]
			pending = pending[len(part):]
			elems := make([]rpc.BatchElem, len(part))
			for i, c := range part {
				elems[i] = rpc.BatchElem{Method: c.method, Args: c.args, Result: c.result}
			}
			err := s.send(ctx, func(ctx context.Context) error { return s.c.BatchCallContext(ctx, elems) }, len(elems))
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				last = fmt.Errorf("batch of %d calls (%s %s ...): %w", len(part), part[0].method, part[0].what, err)
				tooLarge = tooLarge || isTooLarge(err)
				failed = append(failed, part...)
				continue
			}
			for i, c := range part {
				c.err = elems[i].Error
				if c.err == nil || isMethodNotFound(c.err) || isPruned(c.err) {
					continue
				}
				last = fmt.Errorf("%s %s: %w", c.method, c.what, c.err)
				tooLarge = tooLarge || isTooLarge(c.err)
				failed = append(failed, c)
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if attempt >= s.opts.Retries {
			return fmt.Errorf("%w (gave up after %d retries)", last, s.opts.Retries)
		}
		if tooLarge {
			size = max(1, size/2)
		}
		pending = failed
		s.retries.Add(1)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
	}
}

// call makes one call, retrying all failures but "method not found".
func (s *Source) call(ctx context.Context, result any, method string, args ...any) error {
	return s.retry(ctx, isMethodNotFound, result, method, args...)
}

// retry makes one call, retrying failures unless final says not to.
func (s *Source) retry(ctx context.Context, final func(error) bool, result any, method string, args ...any) error {
	for attempt := 0; ; attempt++ {
		err := s.send(ctx, func(ctx context.Context) error { return s.c.CallContext(ctx, result, method, args...) }, 1)
		if err == nil || ctx.Err() != nil || final(err) {
			if err != nil {
				return fmt.Errorf("%s: %w", method, err)
			}
			return nil
		}
		if attempt >= s.opts.Retries {
			return fmt.Errorf("%s: %w (gave up after %d retries)", method, err, s.opts.Retries)
		}
		s.retries.Add(1)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
	}
}

// send makes one request under the per-request timeout and counts it.
func (s *Source) send(ctx context.Context, f func(context.Context) error, calls int) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	s.wait.Add(int64(time.Since(start)))
	s.requests.Add(1)
	s.calls.Add(uint64(calls))
	return err
}

func (s *Source) backoff(attempt int) time.Duration {
	d := s.opts.Backoff
	for range attempt {
		if d >= maxBackoff {
			break
		}
		d *= 2
	}
	return max(min(d, maxBackoff), min(s.opts.Backoff, maxBackoff))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isMethodNotFound(err error) bool {
	var re rpc.Error
	return errors.As(err, &re) && re.ErrorCode() == -32601
}

// isPruned recognises a node that no longer has the state a trace needs:
// asking again will not help.
func isPruned(err error) bool {
	return strings.Contains(err.Error(), "historical state")
}

// isTooLarge recognises a node's limits on batch and response size.
func isTooLarge(err error) bool {
	var he rpc.HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusRequestEntityTooLarge {
		return true
	}
	var re rpc.Error
	if errors.As(err, &re) && re.ErrorCode() == -32003 {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "too large") || strings.Contains(msg, "too many")
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// redactURL keeps scheme and host: node URLs often carry API keys in
// their path or query, which must not reach logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(node)"
	}
	return u.Scheme + "://" + u.Host
}

// The JSON-RPC shapes read here: only the fields used, so that unknown
// transaction types and client-specific extras pass through.

type rpcBlock struct {
	Number       *hexutil.Uint64 `json:"number"`
	Hash         *common.Hash    `json:"hash"`
	ParentHash   common.Hash     `json:"parentHash"`
	Timestamp    *hexutil.Uint64 `json:"timestamp"`
	Transactions []rpcTx         `json:"transactions"`
}

type rpcTx struct {
	Hash     common.Hash     `json:"hash"`
	From     *common.Address `json:"from"`
	To       *common.Address `json:"to"`
	Value    *hexutil.Big    `json:"value"`
	Index    *hexutil.Uint64 `json:"transactionIndex"`
	GasPrice *hexutil.Big    `json:"gasPrice"`
}

func (b *rpcBlock) check(height uint64) error {
	switch {
	case b.Number == nil:
		return errors.New(`missing "number"`)
	case uint64(*b.Number) != height:
		return fmt.Errorf("the node answered with block %d", uint64(*b.Number))
	case b.Hash == nil:
		return errors.New(`missing "hash"`)
	case b.Timestamp == nil:
		return errors.New(`missing "timestamp"`)
	case uint64(*b.Timestamp) > 1<<62:
		return fmt.Errorf("timestamp %d out of range", uint64(*b.Timestamp))
	}
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		switch {
		case tx.Hash == (common.Hash{}):
			return fmt.Errorf("transaction %d: missing \"hash\" (transactions must be full objects)", i)
		case tx.From == nil:
			return fmt.Errorf("transaction %d (%s): missing \"from\"", i, tx.Hash.Hex())
		case tx.Index != nil && uint64(*tx.Index) != uint64(i):
			return fmt.Errorf("transaction %d (%s) says it is at index %d", i, tx.Hash.Hex(), uint64(*tx.Index))
		}
	}
	return nil
}

type rpcReceipt struct {
	TxHash            common.Hash     `json:"transactionHash"`
	BlockHash         *common.Hash    `json:"blockHash"`
	Status            *hexutil.Uint64 `json:"status"`
	GasUsed           *hexutil.Uint64 `json:"gasUsed"`
	EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice"`
	BlobGasUsed       *hexutil.Uint64 `json:"blobGasUsed"`
	BlobGasPrice      *hexutil.Big    `json:"blobGasPrice"`
	ContractAddress   *common.Address `json:"contractAddress"`
	Logs              []rpcLog        `json:"logs"`
}

type rpcLog struct {
	Address  common.Address  `json:"address"`
	Topics   []common.Hash   `json:"topics"`
	Data     hexutil.Bytes   `json:"data"`
	LogIndex *hexutil.Uint64 `json:"logIndex"`
	Removed  bool            `json:"removed"`
}

// rpcTrace is one transaction's entry in debug_traceBlockByNumber's
// answer. Older nodes omit txHash.
type rpcTrace struct {
	TxHash *common.Hash `json:"txHash"`
	Result *callFrame   `json:"result"`
	Error  string       `json:"error"`
}

// callFrame is a frame of callTracer's output.
type callFrame struct {
	Type  string          `json:"type"`
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to"`
	Value *hexutil.Big    `json:"value"`
	Error string          `json:"error"`
	Calls []callFrame     `json:"calls"`
}

// transferTopic is the ERC-20 (and ERC-721) Transfer event's topic.
var transferTopic = common.BytesToHash(crypto.Keccak256([]byte("Transfer(address,address,uint256)")))

// mapBlock turns a block with its receipts (and traces, if not nil) into
// the chain model.
func mapBlock(b *rpcBlock, receipts []rpcReceipt, traces []rpcTrace) (*chain.Block, error) {
	height := uint64(*b.Number)
	blk := &chain.Block{
		Chain:  chain.Ethereum,
		Height: height,
		Hash:   b.Hash.Hex(),
		Parent: b.ParentHash.Hex(),
		Time:   time.Unix(int64(*b.Timestamp), 0).UTC(),
	}
	txs := b.Transactions
	if len(receipts) != len(txs) {
		return nil, fmt.Errorf("%d receipts for %d transactions", len(receipts), len(txs))
	}
	if traces != nil && len(traces) != len(txs) {
		return nil, fmt.Errorf("%d traces for %d transactions", len(traces), len(txs))
	}
	blk.Txs = make([]chain.Tx, len(txs))
	for i := range txs {
		tx, r := &txs[i], &receipts[i]
		hash := tx.Hash.Hex()
		if r.TxHash != tx.Hash {
			return nil, fmt.Errorf("receipt %d is for transaction %s, the block has %s there", i, r.TxHash.Hex(), hash)
		}
		if r.BlockHash != nil && *r.BlockHash != *b.Hash {
			return nil, &inconsistentError{fmt.Sprintf("receipt of transaction %s is from block %s, not %s", hash, r.BlockHash.Hex(), b.Hash.Hex())}
		}
		var frame *callFrame
		if traces != nil {
			t := &traces[i]
			if t.TxHash != nil && *t.TxHash != tx.Hash {
				return nil, &inconsistentError{fmt.Sprintf("trace %d is for transaction %s, the block has %s there", i, t.TxHash.Hex(), hash)}
			}
			if t.Error != "" {
				return nil, fmt.Errorf("transaction %s: the node failed to trace it: %s", hash, t.Error)
			}
			if t.Result == nil {
				return nil, fmt.Errorf("transaction %s: empty trace", hash)
			}
			frame = t.Result
		}
		fee, err := txFee(tx, r)
		if err != nil {
			return nil, fmt.Errorf("transaction %s: %w", hash, err)
		}
		// Receipts before Byzantium carry a state root, not a status; the
		// trace tells then, and without one the transaction counts as
		// succeeded.
		failed := false
		switch {
		case r.Status != nil:
			failed = *r.Status == 0
		case frame != nil:
			failed = frame.Error != ""
		}
		t := chain.Tx{Hash: hash, Index: i, From: addrHex(*tx.From), Fee: fee, Failed: failed}
		if !failed {
			t.Transfers, err = transfers(blk, hash, tx, r, frame)
			if err != nil {
				return nil, fmt.Errorf("transaction %s: %w", hash, err)
			}
		}
		blk.Txs[i] = t
	}
	return blk, nil
}

// txFee is gas used × effective gas price, plus blob gas used × blob gas
// price for blob transactions, in wei.
func txFee(tx *rpcTx, r *rpcReceipt) (chain.Amount, error) {
	if r.GasUsed == nil {
		return chain.Amount{}, errors.New(`receipt lacks "gasUsed"`)
	}
	price := r.EffectiveGasPrice
	if price == nil {
		// Nodes that predate London report only the transaction's price.
		price = tx.GasPrice
	}
	if price == nil {
		return chain.Amount{}, errors.New(`neither the receipt's "effectiveGasPrice" nor the transaction's "gasPrice" is given`)
	}
	fee := new(big.Int).SetUint64(uint64(*r.GasUsed))
	fee.Mul(fee, price.ToInt())
	if r.BlobGasUsed != nil && r.BlobGasPrice != nil {
		blob := new(big.Int).SetUint64(uint64(*r.BlobGasUsed))
		fee.Add(fee, blob.Mul(blob, r.BlobGasPrice.ToInt()))
	}
	a, err := chain.AmountFromBig(fee)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("fee: %w", err)
	}
	return a, nil
}

// transfers lists what a successful transaction moved: its own value,
// value moved by calls inside it, and ERC-20 Transfer events.
func transfers(b *chain.Block, hash string, tx *rpcTx, r *rpcReceipt, frame *callFrame) ([]chain.Transfer, error) {
	var out []chain.Transfer
	add := func(kind chain.TransferKind, pos uint32, from, to string, asset chain.Asset, amount chain.Amount) {
		out = append(out, chain.Transfer{
			Chain: chain.Ethereum, Tx: hash, Kind: kind, Pos: pos, Block: b.Height, Time: b.Time,
			From: from, To: to, Asset: asset, Amount: amount,
		})
	}
	from := addrHex(*tx.From)
	if tx.Value != nil && tx.Value.ToInt().Sign() > 0 {
		v, err := chain.AmountFromBig(tx.Value.ToInt())
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		var to string
		switch {
		case tx.To != nil:
			to = addrHex(*tx.To)
		case r.ContractAddress != nil:
			to = addrHex(*r.ContractAddress)
		default:
			return nil, errors.New("contract creation without a contract address in its receipt")
		}
		add(chain.KindNative, 0, from, to, chain.Native, v)
	}
	if frame != nil {
		var pos uint32
		var walk func(f *callFrame) error
		walk = func(f *callFrame) error {
			for i := range f.Calls {
				c := &f.Calls[i]
				pos++
				// A frame that failed was rolled back with everything
				// below it: it moved nothing.
				if c.Error != "" {
					pos += countFrames(c.Calls)
					continue
				}
				if c.Value != nil && c.Value.ToInt().Sign() > 0 && c.To != nil && movesValue(c.Type) {
					v, err := chain.AmountFromBig(c.Value.ToInt())
					if err != nil {
						return fmt.Errorf("call %d value: %w", pos, err)
					}
					add(chain.KindInternal, pos, addrHex(c.From), addrHex(*c.To), chain.Native, v)
				}
				if err := walk(c); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(frame); err != nil {
			return nil, err
		}
	}
	for i := range r.Logs {
		l := &r.Logs[i]
		// ERC-721 indexes the token id as a fourth topic; only the ERC-20
		// shape carries an amount.
		if len(l.Topics) != 3 || l.Topics[0] != transferTopic || len(l.Data) != 32 || l.Removed {
			continue
		}
		if !isAddressWord(l.Topics[1]) || !isAddressWord(l.Topics[2]) {
			continue
		}
		if l.LogIndex == nil {
			return nil, fmt.Errorf("log %d lacks \"logIndex\"", i)
		}
		if uint64(*l.LogIndex) > 1<<32-1 {
			return nil, fmt.Errorf("log index %d out of range", uint64(*l.LogIndex))
		}
		v, err := chain.AmountFromBytes(l.Data)
		if err != nil {
			return nil, err
		}
		add(chain.KindToken, uint32(*l.LogIndex), addrHex(common.BytesToAddress(l.Topics[1][12:])),
			addrHex(common.BytesToAddress(l.Topics[2][12:])), chain.Asset(addrHex(l.Address)), v)
	}
	return out, nil
}

// countFrames counts the frames in calls and below.
func countFrames(calls []callFrame) uint32 {
	n := uint32(len(calls))
	for i := range calls {
		n += countFrames(calls[i].Calls)
	}
	return n
}

// movesValue reports whether a frame of this type moves its value from
// From to To. DELEGATECALL and STATICCALL move none (callTracer repeats
// the caller's value on a DELEGATECALL); CALLCODE runs another contract's
// code in the caller's own account, so its value stays there.
func movesValue(typ string) bool {
	switch strings.ToUpper(typ) {
	case "CALL", "CREATE", "CREATE2", "SELFDESTRUCT":
		return true
	}
	return false
}

// isAddressWord reports whether a 32-byte word holds an address: its top
// 12 bytes are zero.
func isAddressWord(w common.Hash) bool {
	for _, b := range w[:12] {
		if b != 0 {
			return false
		}
	}
	return true
}

// addrHex is an address in canonical lower-case hex.
func addrHex(a common.Address) string {
	var buf [2 + 2*common.AddressLength]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], a[:])
	return string(buf[:])
}
