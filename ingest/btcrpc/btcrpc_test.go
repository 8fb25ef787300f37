package btcrpc

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/ingest/blkfile"
)

// fakeNode answers getblockcount, getblockhash and getblock (raw) as Core
// and btcd do, over real mainnet blocks, with failures on demand.
type fakeNode struct {
	raw    [][]byte
	hashes []chainhash.Hash

	mu sync.Mutex
	// fail decides the fate of each HTTP request: "" to serve it, "503",
	// "drop" (close the connection) or "garbage".
	fail func(n int) string
	// hashAt overrides getblockhash's answer for a height.
	hashAt   func(height int) int
	requests atomic.Int64
	batches  atomic.Int64
}

func newFakeNode(t testing.TB, n int) *fakeNode {
	recs := chaintest.Records(t, chaintest.SharedData(t, "btc", chaintest.Blk14131))[:n]
	f := &fakeNode{}
	for _, r := range recs {
		raw := r.Raw[btc.RecordHeaderSize:]
		f.raw = append(f.raw, raw)
		f.hashes = append(f.hashes, chainhash.DoubleHashH(raw[:btc.HeaderSize]))
	}
	return f
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.requests.Add(1))
	if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		switch fail(n) {
		case "503":
			http.Error(w, "Work queue depth exceeded", http.StatusServiceUnavailable)
			return
		case "drop":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case "garbage":
			io.WriteString(w, `{"result":`)
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	type req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	var reqs []req
	batch := len(body) > 0 && body[0] == '['
	if batch {
		f.batches.Add(1)
		err = json.Unmarshal(body, &reqs)
	} else {
		reqs = make([]req, 1)
		err = json.Unmarshal(body, &reqs[0])
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resps []map[string]any
	for _, q := range reqs {
		result, rerr := f.answer(q.Method, q.Params)
		resp := map[string]any{"id": q.ID, "result": result, "error": nil}
		if rerr != nil {
			resp["result"] = nil
			resp["error"] = rerr
		}
		resps = append(resps, resp)
	}
	w.Header().Set("Content-Type", "application/json")
	if batch {
		json.NewEncoder(w).Encode(resps)
		return
	}
	if resps[0]["error"] != nil {
		// Core's status for a failed single request.
		w.WriteHeader(http.StatusInternalServerError)
	}
	json.NewEncoder(w).Encode(resps[0])
}

func (f *fakeNode) answer(method string, params []json.RawMessage) (any, *RPCError) {
	switch method {
	case "getblockcount":
		return len(f.raw) - 1, nil
	case "getblockhash":
		var h int
		if len(params) != 1 || json.Unmarshal(params[0], &h) != nil {
			return nil, &RPCError{-1, "bad params"}
		}
		if h < 0 || h >= len(f.raw) {
			return nil, &RPCError{-8, "Block height out of range"}
		}
		f.mu.Lock()
		if f.hashAt != nil {
			h = f.hashAt(h)
		}
		f.mu.Unlock()
		return f.hashes[h].String(), nil
	case "getblock":
		var hash string
		var verbosity int
		if len(params) != 2 || json.Unmarshal(params[0], &hash) != nil || json.Unmarshal(params[1], &verbosity) != nil || verbosity != 0 {
			return nil, &RPCError{-1, "bad params"}
		}
		for i, h := range f.hashes {
			if h.String() == hash {
				return hex.EncodeToString(f.raw[i]), nil
			}
		}
		return nil, &RPCError{-5, "Block not found"}
	}
	return nil, &RPCError{-32601, "Method not found"}
}

func (f *fakeNode) setFail(fn func(n int) string) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func (f *fakeNode) setHashAt(fn func(int) int) {
	f.mu.Lock()
	f.hashAt = fn
	f.mu.Unlock()
}

func newRPC(t testing.TB, url string, mod func(*RPCConfig)) *RPCSource {
	t.Helper()
	cfg := RPCConfig{URL: url, User: "user", Pass: "secret", Params: &chaincfg.MainNetParams,
		BatchSize: 7, Concurrency: 3, Retries: 3, Backoff: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewRPCSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRPCSourceBlocks(t *testing.T) {
	node := newFakeNode(t, 300)
	srv := httptest.NewServer(node)
	defer srv.Close()
	ctx := context.Background()
	s := newRPC(t, strings.TrimPrefix(srv.URL, "http://"), nil)
	if s.ID() != "btc:mainnet" {
		t.Errorf("ID %s", s.ID())
	}
	head, err := s.Head(ctx)
	if err != nil || head != 299 {
		t.Fatalf("head %d, %v", head, err)
	}
	if h, err := s.HashAt(ctx, 170); err != nil || h != "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee" {
		t.Errorf("hash at 170: %s, %v", h, err)
	}
	got, err := s.Blocks(ctx, 0, 299)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	chaintest.WriteRecords(t, path, chaintest.Records(t, chaintest.SharedData(t, "btc", chaintest.Blk14131))[:300])
	want, err := fileBlocks(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 {
		t.Fatalf("%d blocks", len(got))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("block %d from RPC differs from the file's:\n%+v\n%+v", i, got[i], want[i])
		}
	}
	// 300 hashes in one batch, 300 blocks in batches of 7, plus the
	// network check and the calls above.
	if b := node.batches.Load(); b != 1+43 {
		t.Errorf("%d batches", b)
	}
	// A sub-range, and a single block.
	sub, err := s.Blocks(ctx, 165, 171)
	if err != nil || len(sub) != 7 || sub[5].Height != 170 || sub[5].Txs[1].Hash != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("165..171: %d blocks, %v", len(sub), err)
	}
	one, err := s.Blocks(ctx, 299, 299)
	if err != nil || len(one) != 1 || !reflect.DeepEqual(one[0], want[299]) {
		t.Fatalf("299: %v", err)
	}
}

func TestRPCSourceRetries(t *testing.T) {
	node := newFakeNode(t, 60)
	srv := httptest.NewServer(node)
	defer srv.Close()
	ctx := context.Background()
	for _, mode := range []string{"503", "drop", "garbage"} {
		t.Run(mode, func(t *testing.T) {
			// Every other request fails once: each is retried once.
			node.setFail(func(n int) string {
				if n%2 == 1 {
					return mode
				}
				return ""
			})
			defer node.setFail(nil)
			s := newRPC(t, srv.URL, func(c *RPCConfig) { c.Concurrency = 1 })
			blocks, err := s.Blocks(ctx, 10, 59)
			if err != nil {
				t.Fatal(err)
			}
			if len(blocks) != 50 || blocks[0].Height != 10 || blocks[49].Height != 59 {
				t.Errorf("%d blocks", len(blocks))
			}
		})
	}
}

func TestRPCSourceFailures(t *testing.T) {
	node := newFakeNode(t, 60)
	srv := httptest.NewServer(node)
	defer srv.Close()
	ctx := context.Background()

	t.Run("node down", func(t *testing.T) {
		s := newRPC(t, srv.URL, nil)
		if _, err := s.Head(ctx); err != nil {
			t.Fatal(err)
		}
		// From now on every getblock fails.
		node.setFail(func(int) string { return "503" })
		defer node.setFail(nil)
		before := node.requests.Load()
		_, err := s.Blocks(ctx, 20, 26)
		if err == nil || !strings.Contains(err.Error(), "height 20") || !strings.Contains(err.Error(), "after 4 attempts") ||
			!strings.Contains(err.Error(), "503") {
			t.Fatalf("error %v", err)
		}
		if n := node.requests.Load() - before; n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		s := newRPC(t, url, nil)
		_, err := s.Blocks(ctx, 5, 6)
		if err == nil || !strings.Contains(err.Error(), "height 0") || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("beyond the head", func(t *testing.T) {
		s := newRPC(t, srv.URL, nil)
		_, err := s.Blocks(ctx, 55, 70)
		if err == nil || !strings.Contains(err.Error(), "getblockhash at height 60: rpc error -8: Block height out of range") {
			t.Fatalf("error %v", err)
		}
		_, err = s.HashAt(ctx, 61)
		if err == nil || !strings.Contains(err.Error(), "height 61: rpc error -8") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newRPC(t, srv.URL, func(c *RPCConfig) { c.Pass = "nope" })
		before := node.requests.Load()
		_, err := s.Head(ctx)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("error %v", err)
		}
		if n := node.requests.Load() - before; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("cookie", func(t *testing.T) {
		cookie := filepath.Join(t.TempDir(), ".cookie")
		if err := os.WriteFile(cookie, []byte("user:secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newRPC(t, srv.URL, func(c *RPCConfig) { c.User, c.Pass, c.CookieFile = "", "", cookie })
		if head, err := s.Head(ctx); err != nil || head != 59 {
			t.Fatalf("head %d, %v", head, err)
		}
	})
	t.Run("wrong network", func(t *testing.T) {
		s := newRPC(t, srv.URL, func(c *RPCConfig) { c.Params = &chaincfg.TestNet3Params })
		if s.ID() != "btc:testnet3" {
			t.Errorf("ID %s", s.ID())
		}
		_, err := s.Blocks(ctx, 1, 2)
		if err == nil || !strings.Contains(err.Error(), "not testnet3's") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("reorg during the fetch", func(t *testing.T) {
		// The first time heights are asked, height 30 answers with block 31.
		var asked atomic.Int64
		node.setHashAt(func(h int) int {
			if h == 30 && asked.Add(1) == 1 {
				return 31
			}
			return h
		})
		defer node.setHashAt(nil)
		s := newRPC(t, srv.URL, nil)
		blocks, err := s.Blocks(ctx, 25, 35)
		if err != nil || len(blocks) != 11 || blocks[5].Hash != node.hashes[30].String() {
			t.Fatalf("%d blocks, %v", len(blocks), err)
		}
		// A chain that never settles is an error.
		node.setHashAt(func(h int) int {
			if h == 30 {
				return 31
			}
			return h
		})
		_, err = s.Blocks(ctx, 25, 35)
		if err == nil || !strings.Contains(err.Error(), "block 30's parent") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("corrupt block", func(t *testing.T) {
		bad := &fakeNode{raw: append([][]byte(nil), node.raw...), hashes: node.hashes}
		b := append([]byte(nil), node.raw[40]...)
		b[len(b)-1] ^= 1
		bad.raw[40] = b
		srv := httptest.NewServer(bad)
		defer srv.Close()
		s := newRPC(t, srv.URL, nil)
		_, err := s.Blocks(ctx, 38, 42)
		if err == nil || !strings.Contains(err.Error(), "height 40") || !strings.Contains(err.Error(), "merkle root") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newRPC(t, srv.URL, nil)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Blocks(ctx, 1, 50); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestRPCSourceTLS(t *testing.T) {
	node := newFakeNode(t, 3)
	srv := httptest.NewTLSServer(node)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "rpc.cert")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newRPC(t, srv.URL, func(c *RPCConfig) { c.CAFile = ca })
	blocks, err := s.Blocks(context.Background(), 0, 2)
	if err != nil || len(blocks) != 3 {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}
	s = newRPC(t, srv.URL, func(c *RPCConfig) { c.Retries = -1 })
	if _, err := s.Head(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if _, err := NewRPCSource(RPCConfig{URL: srv.URL, Params: &chaincfg.MainNetParams, CAFile: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("missing CA file: no error")
	}
}

func TestParseResponses(t *testing.T) {
	reqs := []request{{ID: 7}, {ID: 8}}
	got, err := parseResponses([]byte(`[{"id":8,"result":"b","error":null},{"id":7,"result":"a","error":null}]`), reqs)
	if err != nil || string(got[0].Result) != `"a"` || string(got[1].Result) != `"b"` {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := parseResponses([]byte(`[{"id":8,"result":"b"}]`), reqs); err == nil || !strings.Contains(err.Error(), "1 of 2 responses missing") {
		t.Errorf("missing: %v", err)
	}
	if _, err := parseResponses([]byte(`{"id":null,"result":null,"error":{"code":-32700,"message":"Parse error"}}`), reqs); err == nil || !strings.Contains(err.Error(), "Parse error") {
		t.Errorf("refused batch: %v", err)
	}
	one, err := parseResponses([]byte(`{"id":null,"result":null,"error":{"code":-32700,"message":"Parse error"}}`), reqs[:1])
	if err != nil || one[0].Error == nil || one[0].Error.Code != -32700 {
		t.Errorf("single: %v %v", one, err)
	}
}

// fileBlocks reads every block of a block file, as ingest btc --blocks
// would.
func fileBlocks(path string) ([]*chain.Block, error) {
	src, err := blkfile.OpenFiles(path, &chaincfg.MainNetParams)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []*chain.Block
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}
