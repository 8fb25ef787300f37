// Package btcrpc reads Bitcoin blocks from a Bitcoin Core or btcd node's
// JSON-RPC, as raw blocks decoded and verified by chain/btc.
package btcrpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
)

// RPCConfig says how to reach a node's JSON-RPC server: Bitcoin Core or
// btcd.
type RPCConfig struct {
	// URL of the server, e.g. http://127.0.0.1:8332; a bare host:port
	// means http. btcd serves https with its own certificate by default:
	// give it as CAFile.
	URL        string
	User, Pass string
	// CookieFile is Core's .cookie, read before each request so that a
	// restarted node's new cookie is picked up. It overrides User and Pass.
	CookieFile string
	// CAFile holds PEM certificates to trust for https (btcd's rpc.cert).
	CAFile string
	// Params is the network the node must serve; its genesis block is
	// checked before the first read.
	Params *chaincfg.Params

	// Concurrency is the number of requests in flight (default 4).
	Concurrency int
	// BatchSize is the number of blocks asked for in one JSON-RPC batch
	// (default 8). Raw blocks are up to 8 MB of hex each.
	BatchSize int
	// Retries is how many times a request that failed in transport (no
	// connection, reset, timeout, HTTP 5xx without a JSON-RPC answer) is
	// retried before giving up: 0 means 5, negative means none. JSON-RPC
	// errors are answers and are not retried, except Core's "loading"
	// while it starts.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one up to 30 s (default 250 ms).
	Backoff time.Duration
	// Timeout bounds one HTTP request (default 2 minutes).
	Timeout time.Duration

	// NoWebSocket keeps WatchHeads off btcd's WebSocket notifications:
	// it polls the best block hash instead, as it does for Core.
	NoWebSocket bool
	// HeadPoll is how often WatchHeads asks a node that sends no block
	// notifications (Bitcoin Core, or btcd with NoWebSocket) for its best
	// block hash (default 250 ms: one small request). Negative turns the
	// poll off: WatchHeads then fails with ErrNoSubscriptions without
	// notifications, and the follower polls at its own interval.
	HeadPoll time.Duration
	// Log, if set, hears how WatchHeads learns of blocks: notifications
	// or the poll, and each switch between them.
	Log *slog.Logger
}

// RPCError is an error the node answered with.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// RPCSource reads blocks from a node's JSON-RPC interface. Blocks are
// fetched raw (getblock HASH 0) and decoded with DecodeBlock, which is
// exact, verified against the header, and the same for Core and btcd.
type RPCSource struct {
	cfg    RPCConfig
	url    string
	client *http.Client
	tls    *tls.Config // for https and wss; nil for the defaults
	// wsRetry is how long WatchHeads polls after a WebSocket attempt
	// failed before it tries the WebSocket again.
	wsRetry time.Duration

	mu      sync.Mutex
	checked bool // the node's genesis block matched Params
	nextID  uint64
}

// NewRPCSource returns a source over the node cfg describes. It does not
// connect until the first call.
func NewRPCSource(cfg RPCConfig) (*RPCSource, error) {
	if cfg.Params == nil {
		return nil, errors.New("btc rpc: no network parameters")
	}
	if cfg.URL == "" {
		return nil, errors.New("btc rpc: no URL")
	}
	url := cfg.URL
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 8
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.HeadPoll == 0 {
		cfg.HeadPoll = DefaultHeadPoll
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("btc rpc: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("btc rpc: no PEM certificate in %s", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &RPCSource{cfg: cfg, url: url, client: &http.Client{Transport: tr}, tls: tr.TLSClientConfig, wsRetry: time.Minute}, nil
}

// Chain is chain.Bitcoin.
func (s *RPCSource) Chain() chain.Chain { return chain.Bitcoin }

// ID is "btc:" and the network's name, e.g. "btc:mainnet", "btc:simnet".
func (s *RPCSource) ID() string { return "btc:" + s.cfg.Params.Name }

// Head is the height of the node's best block.
func (s *RPCSource) Head(ctx context.Context) (uint64, error) {
	if err := s.checkNetwork(ctx); err != nil {
		return 0, err
	}
	var n uint64
	if err := s.call(ctx, "getblockcount", nil, &n); err != nil {
		return 0, fmt.Errorf("btc rpc %s: getblockcount: %w", s.url, err)
	}
	return n, nil
}

// HashAt is the hash of the node's block at height.
func (s *RPCSource) HashAt(ctx context.Context, height uint64) (string, error) {
	if err := s.checkNetwork(ctx); err != nil {
		return "", err
	}
	h, err := s.hashAt(ctx, height)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (s *RPCSource) hashAt(ctx context.Context, height uint64) (chainhash.Hash, error) {
	var str string
	if err := s.call(ctx, "getblockhash", []any{height}, &str); err != nil {
		return chainhash.Hash{}, fmt.Errorf("btc rpc %s: getblockhash at height %d: %w", s.url, height, err)
	}
	h, err := chainhash.NewHashFromStr(str)
	if err != nil || len(str) != 2*chainhash.HashSize {
		return chainhash.Hash{}, fmt.Errorf("btc rpc %s: getblockhash at height %d: bad hash %q", s.url, height, str)
	}
	return *h, nil
}

// checkNetwork makes sure, once, that the node serves the configured
// network, so that a mainnet store never takes testnet blocks.
func (s *RPCSource) checkNetwork(ctx context.Context) error {
	s.mu.Lock()
	done := s.checked
	s.mu.Unlock()
	if done {
		return nil
	}
	h, err := s.hashAt(ctx, 0)
	if err != nil {
		return err
	}
	if h != *s.cfg.Params.GenesisHash {
		return fmt.Errorf("btc rpc %s: the node's genesis block is %s, not %s's %s", s.url, h, s.cfg.Params.Name, s.cfg.Params.GenesisHash)
	}
	s.mu.Lock()
	s.checked = true
	s.mu.Unlock()
	return nil
}

// Blocks returns the blocks from..to inclusive in height order. Hashes
// are asked in batches, then blocks in batches of BatchSize on
// Concurrency connections. A block the node cannot give after the retries
// is an error naming its height; no block is skipped. If the node's chain
// changes during the fetch (the blocks do not link), the fetch starts
// over, twice at most.
func (s *RPCSource) Blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	if to < from {
		return nil, fmt.Errorf("btc rpc: blocks %d to %d: empty range", from, to)
	}
	if err := s.checkNetwork(ctx); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		blocks, err := s.fetch(ctx, from, to)
		if err != nil {
			return nil, err
		}
		bad := -1
		for i := 1; i < len(blocks); i++ {
			if blocks[i].Parent != blocks[i-1].Hash {
				bad = i
				break
			}
		}
		if bad < 0 {
			return blocks, nil
		}
		if attempt == 2 {
			return nil, fmt.Errorf("btc rpc %s: block %d's parent %s is not block %d %s: the node's chain keeps changing",
				s.url, blocks[bad].Height, blocks[bad].Parent, blocks[bad].Height-1, blocks[bad-1].Hash)
		}
	}
}

func (s *RPCSource) fetch(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	n := int(to - from + 1)
	hashes := make([]chainhash.Hash, n)
	const hashBatch = 500
	for i := 0; i < n; i += hashBatch {
		j := min(i+hashBatch, n)
		reqs := make([]request, j-i)
		for k := range reqs {
			reqs[k] = request{Method: "getblockhash", Params: []any{from + uint64(i+k)}}
		}
		resps, err := s.batch(ctx, reqs)
		if err != nil {
			return nil, fmt.Errorf("btc rpc %s: getblockhash at height %d: %w", s.url, from+uint64(i), err)
		}
		for k, r := range resps {
			height := from + uint64(i+k)
			var str string
			if err := r.decode(&str); err != nil {
				return nil, fmt.Errorf("btc rpc %s: getblockhash at height %d: %w", s.url, height, err)
			}
			h, err := chainhash.NewHashFromStr(str)
			if err != nil || len(str) != 2*chainhash.HashSize {
				return nil, fmt.Errorf("btc rpc %s: getblockhash at height %d: bad hash %q", s.url, height, str)
			}
			hashes[i+k] = *h
		}
	}

	blocks := make([]*chain.Block, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan int)
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range min(s.cfg.Concurrency, (n+s.cfg.BatchSize-1)/s.cfg.BatchSize) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := min(i+s.cfg.BatchSize, n)
				if err := s.getBlocks(ctx, from+uint64(i), hashes[i:j], blocks[i:j]); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i += s.cfg.BatchSize {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return blocks, nil
}

// getBlocks fetches and decodes the blocks of hashes, the first at height.
func (s *RPCSource) getBlocks(ctx context.Context, height uint64, hashes []chainhash.Hash, out []*chain.Block) error {
	reqs := make([]request, len(hashes))
	for i, h := range hashes {
		reqs[i] = request{Method: "getblock", Params: []any{h.String(), 0}}
	}
	resps, err := s.batch(ctx, reqs)
	if err != nil {
		return fmt.Errorf("btc rpc %s: getblock at height %d (batch of heights %d to %d): %w",
			s.url, height, height, height+uint64(len(hashes))-1, err)
	}
	for i, r := range resps {
		h := height + uint64(i)
		if r.Error != nil {
			return fmt.Errorf("btc rpc %s: getblock at height %d (%s): %w", s.url, h, hashes[i], r.Error)
		}
		// The result is a JSON string of hex digits, which need no
		// unescaping: decode it in place.
		res := bytes.TrimSpace(r.Result)
		if len(res) < 2 || res[0] != '"' || res[len(res)-1] != '"' {
			return fmt.Errorf("btc rpc %s: getblock at height %d (%s): result is not a hex string", s.url, h, hashes[i])
		}
		raw := make([]byte, hex.DecodedLen(len(res)-2))
		if _, err := hex.Decode(raw, res[1:len(res)-1]); err != nil {
			return fmt.Errorf("btc rpc %s: getblock at height %d (%s): %w", s.url, h, hashes[i], err)
		}
		b, err := btc.DecodeBlock(raw, h, s.cfg.Params)
		if err != nil {
			return fmt.Errorf("btc rpc %s: block at height %d (%s): %w", s.url, h, hashes[i], err)
		}
		if b.Hash != hashes[i].String() {
			return fmt.Errorf("btc rpc %s: asked for block %s at height %d, got %s", s.url, hashes[i], h, b.Hash)
		}
		out[i] = b
	}
	return nil
}

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
	ID     uint64          `json:"id"`
}

func (r *response) decode(v any) error {
	if r.Error != nil {
		return r.Error
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("decode result: %w", err)
	}
	return nil
}

// call sends one request and decodes its result into v.
func (s *RPCSource) call(ctx context.Context, method string, params []any, v any) error {
	if params == nil {
		params = []any{}
	}
	resps, err := s.batch(ctx, []request{{Method: method, Params: params}})
	if err != nil {
		return err
	}
	return resps[0].decode(v)
}

// transientError marks a failure worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// batch sends reqs, as a JSON-RPC batch when there are several, retrying
// transport failures with exponential backoff, and returns the responses
// in request order.
func (s *RPCSource) batch(ctx context.Context, reqs []request) ([]response, error) {
	s.mu.Lock()
	for i := range reqs {
		s.nextID++
		reqs[i].JSONRPC = "1.0"
		reqs[i].ID = s.nextID
	}
	s.mu.Unlock()
	var body []byte
	var err error
	if len(reqs) == 1 {
		body, err = json.Marshal(reqs[0])
	} else {
		body, err = json.Marshal(reqs)
	}
	if err != nil {
		return nil, err
	}
	wait := s.cfg.Backoff
	for attempt := 0; ; attempt++ {
		resps, err := s.post(ctx, body, reqs)
		var te *transientError
		if err == nil || !errors.As(err, &te) || ctx.Err() != nil {
			return resps, err
		}
		if attempt == s.cfg.Retries {
			return nil, fmt.Errorf("after %d attempts: %w", attempt+1, te.err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// post makes one HTTP request.
func (s *RPCSource) post(ctx context.Context, body []byte, reqs []request) ([]response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	user, pass, err := s.credentials()
	if err != nil {
		return nil, err
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, &transientError{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, fmt.Errorf("HTTP %s: check the RPC user and password", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &transientError{fmt.Errorf("read response: %w", err)}
	}
	// Core answers a single request's error with HTTP 500 and a JSON-RPC
	// body: read the body whatever the status.
	resps, perr := parseResponses(data, reqs)
	if perr == nil {
		for _, r := range resps {
			if r.Error != nil && r.Error.Code == rpcInWarmup {
				return nil, &transientError{r.Error}
			}
		}
		return resps, nil
	}
	if resp.StatusCode >= 500 {
		return nil, &transientError{fmt.Errorf("HTTP %s: %s", resp.Status, snippet(data))}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, snippet(data))
	}
	return nil, &transientError{perr}
}

// credentials are the user and password to send: the cookie's, read
// afresh, or the configured ones.
func (s *RPCSource) credentials() (user, pass string, err error) {
	if s.cfg.CookieFile == "" {
		return s.cfg.User, s.cfg.Pass, nil
	}
	c, err := os.ReadFile(s.cfg.CookieFile)
	if err != nil {
		// The node may be writing a new one as it restarts.
		return "", "", &transientError{fmt.Errorf("cookie: %w", err)}
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(c)), ":")
	if !ok {
		return "", "", fmt.Errorf("cookie %s: not user:password", s.cfg.CookieFile)
	}
	return user, pass, nil
}

// rpcInWarmup is Core's error code while it loads its indexes at start.
const rpcInWarmup = -28

// parseResponses matches the responses to reqs by id.
func parseResponses(data []byte, reqs []request) ([]response, error) {
	var got []response
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &got); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
	} else {
		var one response
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
		if len(reqs) > 1 {
			// A batch answered by one error: the node refused the batch.
			if one.Error != nil {
				return nil, fmt.Errorf("batch refused: %w", one.Error)
			}
			return nil, errors.New("batch answered by a single response")
		}
		// An error about the request itself may carry a null id.
		return []response{one}, nil
	}
	byID := make(map[uint64]int, len(reqs))
	for i, r := range reqs {
		byID[r.ID] = i
	}
	out := make([]response, len(reqs))
	seen := 0
	for _, r := range got {
		i, ok := byID[r.ID]
		if !ok {
			continue
		}
		out[i] = r
		delete(byID, r.ID)
		seen++
	}
	if seen != len(reqs) {
		return nil, fmt.Errorf("%d of %d responses missing", len(reqs)-seen, len(reqs))
	}
	return out, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
