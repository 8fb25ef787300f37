// Package tron reads Tron blocks from a java-tron node's HTTP API
// (/wallet/...): blocks in ranges of up to 100 with getblockbylimitnext
// (getblockbynum where a node refuses it), each block's execution results
// with gettransactioninfobyblocknum, concurrently, with retries.
//
// A block becomes a chain.Block of chain.Tron: TRX transfers
// (TransferContract, and the TRX a contract call or creation pays), TRC-10
// transfers (TransferAssetContract, and the tokens a contract call pays;
// the asset is the token id), TRC-20 transfers from each transaction's
// Transfer logs (the asset is the contract's base58 address), and TRX and
// TRC-10 moved by internal transactions where the node records them
// (java-tron's vm.saveInternalTx). A transaction whose execution failed
// moves nothing but pays its fee; the fee is the TRX the transaction burnt
// (the info's fee: energy, bandwidth, memo and activation fees), in sun.
//
// What a transaction moves is read from its raw_data_hex, the protobuf
// bytes its id hashes: a transaction whose txID is not the SHA-256 of
// those bytes is a corrupt block, never ingested. Other contract types
// (staking, votes, rewards, permissions, shielded transfers) move no value
// between addresses and are kept as transactions without transfers.
//
// The shapes read were checked against tronprotocol's HTTP API
// documentation (documentation-en, api/http/block-and-tx-query:
// getnowblock, getblockbynum, getblockbylimitnext,
// gettransactioninfobyblocknum, gettransactioninfobyid) and the TRON
// developer reference (GetTransactionInfoById); the protobuf field
// numbers are java-tron's protocol/src/main/protos (Tron.proto,
// core/contract/*.proto).
package tron

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Default SourceOptions.
const (
	DefaultConcurrency = 4
	DefaultBatchSize   = 20
	DefaultRetries     = 5
	DefaultBackoff     = 200 * time.Millisecond
	DefaultTimeout     = 2 * time.Minute
	DefaultHeadPoll    = 250 * time.Millisecond
	// MaxBatchSize is the most blocks java-tron's getblockbylimitnext
	// answers in one call.
	MaxBatchSize = 100
	maxBackoff   = 10 * time.Second
	// maxBody bounds one answer: 100 full blocks stay far below it.
	maxBody = 1 << 30
)

// Genesis block ids of the public networks, for the source's ID.
const (
	MainnetGenesis = "00000000000000001ebf88508a03865c71d452e25f4d51194196a1d22b6653dc"
	NileGenesis    = "0000000000000000d698d4192c56cb6be724a558448e2684802de4d6cd8690dc"
	ShastaGenesis  = "0000000000000000de1aa88295e1fcf982742f773e0419c5a9c134c994a9059e"
)

// SourceOptions tune how a Source reads a node. The zero value gives the
// defaults.
type SourceOptions struct {
	// Concurrency is the number of requests in flight at once (default 4).
	Concurrency int
	// BatchSize is the number of blocks per getblockbylimitnext call
	// (default 20, at most 100).
	BatchSize int
	// Retries is how often a failed request is sent again before giving
	// up (default 5; negative for none).
	Retries int
	// Backoff is the wait before the first retry; it doubles after each,
	// up to 10 s (default 200 ms).
	Backoff time.Duration
	// Timeout bounds one request to the node (default 2 min).
	Timeout time.Duration
	// APIKey, if set, is sent as TRON-PRO-API-KEY (TronGrid's header).
	APIKey string
	// Client, if set, makes the requests.
	Client *http.Client
	// HeadPoll is how often WatchHeads asks for the latest block while a
	// new one is due (default 250 ms); after one it waits most of a
	// block interval (3 s) first. Negative turns WatchHeads off: the
	// follower polls at its own interval.
	HeadPoll time.Duration
}

func (o *SourceOptions) defaults() error {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.BatchSize <= 0:
		o.BatchSize = DefaultBatchSize
	case o.BatchSize > MaxBatchSize:
		return fmt.Errorf("batch size %d: java-tron answers at most %d blocks a call", o.BatchSize, MaxBatchSize)
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
	if o.HeadPoll == 0 {
		o.HeadPoll = DefaultHeadPoll
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 2 * o.Concurrency,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return nil
}

// SourceStats count a Source's work since it was made.
type SourceStats struct {
	Requests uint64 // HTTP requests sent
	Retries  uint64 // requests sent again after a failure
	// Wait is the time spent waiting for the node's answers, summed over
	// concurrent requests.
	Wait time.Duration
	// Decode is the time spent decoding answers into blocks.
	Decode time.Duration
}

// Source reads Tron blocks from a java-tron node's HTTP API. It
// implements ingest.NodeSource and is safe for concurrent use.
type Source struct {
	base string // the URL, without a trailing slash
	node string // scheme and host, for messages
	id   string
	opts SourceOptions
	// noLimitNext is set once the node is found to refuse
	// getblockbylimitnext; blocks are then read one by one.
	noLimitNext atomic.Bool
	// noGetBlock is set once the node is found to lack getblock (older
	// java-tron): WatchHeads then asks getnowblock.
	noGetBlock atomic.Bool
	// blockInterval is the chain's time between blocks.
	blockInterval time.Duration

	requests, retries atomic.Uint64
	wait, decode      atomic.Int64
}

// NewSource reads the node's genesis block to name the network: the ID
// is "tron:mainnet", "tron:nile" or "tron:shasta", or "tron:" and the
// genesis block id for a private network.
func NewSource(ctx context.Context, rawURL string, opts SourceOptions) (*Source, error) {
	node := redactURL(rawURL)
	if err := opts.defaults(); err != nil {
		return nil, fmt.Errorf("tron source %s: %w", node, err)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tron source %s: want an http or https URL of a java-tron node's HTTP API (port 8090 by default)", node)
	}
	s := &Source{base: strings.TrimRight(rawURL, "/"), node: node, opts: opts, blockInterval: BlockInterval}
	genesis, err := s.HashAt(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("tron source %s: %w", node, err)
	}
	switch genesis {
	case MainnetGenesis:
		s.id = "tron:mainnet"
	case NileGenesis:
		s.id = "tron:nile"
	case ShastaGenesis:
		s.id = "tron:shasta"
	default:
		s.id = "tron:" + genesis
	}
	return s, nil
}

// Chain is chain.Tron.
func (s *Source) Chain() chain.Chain { return chain.Tron }

// ID names the network, e.g. "tron:mainnet".
func (s *Source) ID() string { return s.id }

// Stats returns counters of the work done so far.
func (s *Source) Stats() SourceStats {
	return SourceStats{
		Requests: s.requests.Load(),
		Retries:  s.retries.Load(),
		Wait:     time.Duration(s.wait.Load()),
		Decode:   time.Duration(s.decode.Load()),
	}
}

// Head is the height of the node's latest block.
func (s *Source) Head(ctx context.Context) (uint64, error) {
	// The latest header, not the whole block getnowblock would send.
	_, h, err := s.latest(ctx)
	if err != nil {
		return 0, fmt.Errorf("tron head: %w", err)
	}
	return h, nil
}

// HashAt is the id of the node's block at height.
func (s *Source) HashAt(ctx context.Context, height uint64) (string, error) {
	body, err := s.post(ctx, "getblockbynum", map[string]uint64{"num": height})
	if err != nil {
		return "", fmt.Errorf("tron block %d: %w", height, err)
	}
	var b struct {
		BlockID string `json:"blockID"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "", fmt.Errorf("tron block %d: getblockbynum: %w", height, err)
	}
	if b.BlockID == "" {
		return "", s.notFound(ctx, height)
	}
	if h, err := idHeight(b.BlockID); err != nil || h != height {
		return "", fmt.Errorf("tron block %d: the node answered with block id %q", height, b.BlockID)
	}
	return b.BlockID, nil
}

// notFound is the error for a block the node does not have.
func (s *Source) notFound(ctx context.Context, height uint64) error {
	head, err := s.Head(ctx)
	if err != nil {
		return fmt.Errorf("tron block %d not found (head unknown: %v)", height, err)
	}
	return fmt.Errorf("tron block %d not found (head is %d)", height, head)
}

// Blocks returns blocks from..to inclusive in height order: BatchSize
// blocks a call and each block's transaction infos, Concurrency requests
// at a time. A request that still fails after the retries fails the whole
// call with an error naming its blocks; no block is ever skipped.
func (s *Source) Blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	if to < from || to-from >= 1<<31 {
		return nil, fmt.Errorf("tron blocks %d-%d: invalid range", from, to)
	}
	for attempt := 0; ; attempt++ {
		blocks, err := s.blocks(ctx, from, to)
		var ie *inconsistentError
		switch {
		case errors.As(err, &ie):
		case err != nil:
			return nil, err
		default:
			// Calls answered at different moments can straddle a
			// reorganisation near the head: read again rather than
			// return a broken chain.
			i := linked(blocks)
			if i == 0 {
				return blocks, nil
			}
			err = &inconsistentError{fmt.Sprintf("block %d's parent %s is not block %d's id %s", blocks[i].Height, blocks[i].Parent, blocks[i-1].Height, blocks[i-1].Hash)}
		}
		if attempt >= s.opts.Retries {
			return nil, fmt.Errorf("tron blocks %d-%d: %w: the chain kept reorganising while it was read", from, to, err)
		}
		s.retries.Add(1)
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// inconsistentError is an answer that contradicts another, as when the
// chain reorganises between two calls: the range is read again.
type inconsistentError struct{ msg string }

func (e *inconsistentError) Error() string { return e.msg }

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
	n := int(to - from + 1)
	raw := make([]*rawBlock, n)
	bs := s.opts.BatchSize
	ranges := (n + bs - 1) / bs
	err := s.parallel(ctx, ranges, func(ctx context.Context, k int) error {
		lo := from + uint64(k*bs)
		hi := min(lo+uint64(bs)-1, to)
		got, err := s.readRange(ctx, lo, hi)
		if err != nil {
			return err
		}
		copy(raw[lo-from:], got)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*chain.Block, n)
	err = s.parallel(ctx, n, func(ctx context.Context, i int) error {
		h := from + uint64(i)
		var infos []byte
		if len(raw[i].Transactions) > 0 {
			var err error
			infos, err = s.post(ctx, "gettransactioninfobyblocknum", map[string]uint64{"num": h})
			if err != nil {
				return fmt.Errorf("tron block %d: gettransactioninfobyblocknum: %w", h, err)
			}
		}
		start := time.Now()
		b, err := mapBlock(raw[i], infos)
		s.decode.Add(int64(time.Since(start)))
		if err != nil {
			var ie *inconsistentError
			if errors.As(err, &ie) {
				return err
			}
			return fmt.Errorf("tron block %d: %w", h, err)
		}
		out[i] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readRange reads blocks lo..hi and checks that each is whole and is the
// block asked for.
func (s *Source) readRange(ctx context.Context, lo, hi uint64) ([]*rawBlock, error) {
	n := int(hi - lo + 1)
	out := make([]*rawBlock, n)
	if !s.noLimitNext.Load() {
		what := fmt.Sprintf("blocks %d-%d", lo, hi)
		body, err := s.post(ctx, "getblockbylimitnext", map[string]uint64{"startNum": lo, "endNum": hi + 1})
		switch {
		case errors.Is(err, errNoEndpoint):
			s.noLimitNext.Store(true)
		case err != nil:
			return nil, fmt.Errorf("tron %s: getblockbylimitnext: %w", what, err)
		default:
			start := time.Now()
			var list struct {
				Block []jsonBlock `json:"block"`
			}
			err := json.Unmarshal(body, &list)
			if err != nil {
				s.decode.Add(int64(time.Since(start)))
				return nil, fmt.Errorf("tron %s: getblockbylimitnext: malformed answer: %w", what, err)
			}
			for i := range list.Block {
				b, err := checkBlock(&list.Block[i])
				if err != nil {
					s.decode.Add(int64(time.Since(start)))
					return nil, fmt.Errorf("tron block %d: getblockbylimitnext: %w", lo+uint64(i), err)
				}
				switch {
				case b.height < lo || b.height > hi:
					return nil, fmt.Errorf("tron %s: getblockbylimitnext answered block %d", what, b.height)
				case out[b.height-lo] != nil:
					return nil, fmt.Errorf("tron %s: getblockbylimitnext answered block %d twice", what, b.height)
				}
				out[b.height-lo] = b
			}
			s.decode.Add(int64(time.Since(start)))
			for i, b := range out {
				if b == nil {
					return nil, s.notFound(ctx, lo+uint64(i))
				}
			}
			return out, nil
		}
	}
	for i := range n {
		h := lo + uint64(i)
		body, err := s.post(ctx, "getblockbynum", map[string]uint64{"num": h})
		if err != nil {
			return nil, fmt.Errorf("tron block %d: getblockbynum: %w", h, err)
		}
		if isEmptyObject(body) {
			return nil, s.notFound(ctx, h)
		}
		start := time.Now()
		b, err := decodeBlock(body)
		s.decode.Add(int64(time.Since(start)))
		if err != nil {
			return nil, fmt.Errorf("tron block %d: getblockbynum: %w", h, err)
		}
		if b.height != h {
			return nil, fmt.Errorf("tron block %d: getblockbynum answered block %d", h, b.height)
		}
		out[i] = b
	}
	return out, nil
}

// parallel runs fn for 0..n-1 on up to Concurrency goroutines; the first
// error cancels the rest and is returned.
func (s *Source) parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(s.opts.Concurrency, n) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, k); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// errNoEndpoint is a node that does not serve an endpoint (404).
var errNoEndpoint = errors.New("the node does not serve this endpoint")

// NodeError is an error java-tron answered, as {"Error": "..."} with
// HTTP status 200.
type NodeError struct{ Msg string }

func (e *NodeError) Error() string { return "the node answered an error: " + e.Msg }

// httpStatusError is an answer with a status other than 200.
type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// post calls /wallet/<method> with args as its JSON body and returns the
// answer. Transport failures, answers cut short, HTTP 408, 429 and 5xx
// and the node's own errors are retried with backoff.
func (s *Source) post(ctx context.Context, method string, args any) ([]byte, error) {
	body := []byte("{}")
	if args != nil {
		var err error
		if body, err = json.Marshal(args); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		out, err := s.send(ctx, method, body)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			return nil, err
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

func retryable(err error) bool {
	var se *httpStatusError
	if errors.As(err, &se) {
		return se.code == http.StatusRequestTimeout || se.code == http.StatusTooManyRequests || se.code >= 500
	}
	if errors.Is(err, errNoEndpoint) {
		return false
	}
	// The node's own errors, connections refused or cut, bodies cut
	// short, timeouts of one request.
	return true
}

// send makes one request under the per-request timeout and counts it.
func (s *Source) send(ctx context.Context, method string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		s.wait.Add(int64(time.Since(start)))
		s.requests.Add(1)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/wallet/"+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if s.opts.APIKey != "" {
		req.Header.Set("TRON-PRO-API-KEY", s.opts.APIKey)
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		// The URL may carry an API key: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNoEndpoint
	case resp.StatusCode != http.StatusOK:
		return nil, &httpStatusError{code: resp.StatusCode, body: snippet(out)}
	case len(out) > maxBody:
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	if msg, ok := nodeError(out); ok {
		return nil, &NodeError{Msg: msg}
	}
	return out, nil
}

// nodeError recognises java-tron's error answer, {"Error": "..."}, by its
// first key, without decoding a block.
func nodeError(body []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if t, err := d.Token(); err != nil || t != "Error" {
		return "", false
	}
	var msg any
	if err := d.Decode(&msg); err != nil {
		return string(snippet(body)), true
	}
	return fmt.Sprint(msg), true
}

func isEmptyObject(body []byte) bool {
	return bytes.Equal(bytes.Join(bytes.Fields(body), nil), []byte("{}"))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
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

// redactURL keeps scheme and host: node URLs may carry API keys in their
// path or query, which must not reach logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(node)"
	}
	return u.Scheme + "://" + u.Host
}

// idHeight is the height a block id starts with: its first 8 bytes.
func idHeight(id string) (uint64, error) {
	if !isHash(id) {
		return 0, fmt.Errorf("block id %q: want 64 lower-case hex digits", id)
	}
	return strconv.ParseUint(id[:16], 16, 64)
}
