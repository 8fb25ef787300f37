package tron

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	tronaddr "github.com/tracehound/tracehound/chain/tron"
)

// The recorded block (testdata/README.md says where from and what of
// it is kept) and the transaction infos built from it.
const (
	recHeight = 43811922
	recID     = "00000000029c845221998b944fbc7fdb174bdee264ecea7edcdad50d198bc305"
	recParent = "00000000029c8451ef43c8e220dfc961d2be8da04c05f8dffa0c62d4c0ecb9e4"
	usdt      = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" // Tether's TRC-20 contract
)

// child is a block on top of the recorded one, constructed (a header
// without transactions) so that a run crosses from one batch to the
// next: the stored id of the recorded block must equal its parent.
const child = `{"blockID":"00000000029c8453aa6b8e0d9d5f1c3e2a4b6c8d0e1f2a3b4c5d6e7f8091a2b3",
"block_header":{"raw_data":{"number":43811923,"parentHash":"` + recID + `","timestamp":1662014445000}}}`

// genesis stands in for the mainnet genesis block: only its id, which
// is what the source reads of it.
const genesis = `{"blockID":"` + MainnetGenesis + `","block_header":{"raw_data":{"parentHash":"` + MainnetGenesis + `"}}}`

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// node replays recorded answers as java-tron's HTTP API does.
type node struct {
	mu     sync.Mutex
	blocks map[uint64][]byte
	infos  map[uint64][]byte
	head   uint64
	// fail, if set, may answer a request instead; it returns false to let
	// it through.
	fail    atomic.Pointer[failFunc]
	noLimit bool // answer 404 to getblockbylimitnext
	// noGetBlock answers 404 to getblock, as a node older than it does.
	noGetBlock bool
	requests   atomic.Int64
	byMethod   sync.Map
}

func newNode(t testing.TB) *node {
	n := &node{
		blocks: map[uint64][]byte{0: []byte(genesis), recHeight: readFile(t, "getblockbynum-43811922.json"), recHeight + 1: []byte(child)},
		infos:  map[uint64][]byte{recHeight: readFile(t, "gettransactioninfobyblocknum-43811922.json")},
		head:   recHeight + 1,
	}
	return n
}

func (n *node) serve(t testing.TB) (*httptest.Server, *Source) {
	t.Helper()
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	s, err := NewSource(context.Background(), srv.URL, SourceOptions{Backoff: time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := n.requests.Add(1)
	method := strings.TrimPrefix(r.URL.Path, "/wallet/")
	c, _ := n.byMethod.LoadOrStore(method, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	if f := n.fail.Load(); f != nil && (*f)(w, r, method, k) {
		return
	}
	var args struct {
		Num      uint64 `json:"num"`
		StartNum uint64 `json:"startNum"`
		EndNum   uint64 `json:"endNum"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &args); err != nil || r.Method != http.MethodPost {
		fmt.Fprintf(w, `{"Error":"bad request: %v"}`, err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch method {
	case "getnowblock":
		w.Write(n.blocks[n.head])
	case "getblock":
		// Without id_or_num, the latest block; the test blocks above
		// the recorded one have no transactions to leave out.
		if n.noGetBlock || !strings.Contains(string(body), `"detail":false`) {
			http.NotFound(w, r)
			return
		}
		w.Write(n.blocks[n.head])
	case "getblockbynum":
		if b, ok := n.blocks[args.Num]; ok {
			w.Write(b)
		} else {
			w.Write([]byte("{}"))
		}
	case "getblockbylimitnext":
		if n.noLimit {
			http.NotFound(w, r)
			return
		}
		if args.EndNum <= args.StartNum || args.EndNum-args.StartNum > MaxBatchSize {
			w.Write([]byte(`{"Error":"class org.tron.core.exception.BadItemException : endNum must be greater than startNum"}`))
			return
		}
		var list [][]byte
		for h := args.StartNum; h < args.EndNum; h++ {
			if b, ok := n.blocks[h]; ok {
				list = append(list, b)
			}
		}
		if len(list) == 0 {
			w.Write([]byte("{}"))
			return
		}
		fmt.Fprintf(w, `{"block":[%s]}`, bytes.Join(list, []byte(",")))
	case "gettransactioninfobyblocknum":
		if b, ok := n.infos[args.Num]; ok {
			w.Write(b)
		} else {
			w.Write([]byte("[]"))
		}
	default:
		http.NotFound(w, r)
	}
}

type failFunc = func(w http.ResponseWriter, r *http.Request, method string, n int64) bool

// setFail sets (or with nil, clears) what answers requests instead of
// the recorded answers.
func (n *node) setFail(f failFunc) {
	if f == nil {
		n.fail.Store(nil)
		return
	}
	n.fail.Store(&f)
}

func (n *node) calls(method string) int64 {
	c, ok := n.byMethod.Load(method)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

// expected is what the recorded block moves, read from its raw_data JSON
// (not from raw_data_hex, which the source decodes) and from the
// transaction infos' logs.
type expected struct {
	from, to string
	kind     chain.TransferKind
	asset    chain.Asset
	amount   string
}

func b58(t testing.TB, hexAddr string) string {
	t.Helper()
	a, err := tronaddr.Codec{}.Parse(hexAddr)
	if err != nil {
		t.Fatalf("%s: %v", hexAddr, err)
	}
	return a.Value
}

func expectedTransfers(t testing.TB) map[string][]expected {
	var blk struct {
		Transactions []struct {
			TxID    string `json:"txID"`
			RawData struct {
				Contract []struct {
					Type      string `json:"type"`
					Parameter struct {
						Value struct {
							Amount    uint64 `json:"amount"`
							Owner     string `json:"owner_address"`
							To        string `json:"to_address"`
							AssetName string `json:"asset_name"`
							Contract  string `json:"contract_address"`
							CallValue uint64 `json:"call_value"`
							Data      string `json:"data"`
						} `json:"value"`
					} `json:"parameter"`
				} `json:"contract"`
			} `json:"raw_data"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal(readFile(t, "getblockbynum-43811922.json"), &blk); err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]expected)
	for _, tx := range blk.Transactions {
		c := tx.RawData.Contract[0]
		v := c.Parameter.Value
		var e []expected
		switch c.Type {
		case "TransferContract":
			e = append(e, expected{b58(t, v.Owner), b58(t, v.To), chain.KindNative, chain.Native, fmt.Sprint(v.Amount)})
		case "TransferAssetContract":
			id, _ := hex.DecodeString(v.AssetName)
			e = append(e, expected{b58(t, v.Owner), b58(t, v.To), chain.KindNative, chain.Asset(id), fmt.Sprint(v.Amount)})
		case "TriggerSmartContract":
			if v.CallValue > 0 {
				e = append(e, expected{b58(t, v.Owner), b58(t, v.Contract), chain.KindNative, chain.Native, fmt.Sprint(v.CallValue)})
			}
			if strings.HasPrefix(v.Data, "a9059cbb") {
				to := "41" + v.Data[8+24:8+64]
				amount, ok := new(big.Int).SetString(v.Data[8+64:], 16)
				if !ok {
					t.Fatalf("calldata %s", v.Data)
				}
				e = append(e, expected{b58(t, v.Owner), b58(t, to), chain.KindToken, chain.Asset(b58(t, v.Contract)), amount.String()})
			}
		default:
			t.Fatalf("unexpected %s in the fixture", c.Type)
		}
		out[tx.TxID] = e
	}
	return out
}

func TestRecordedBlock(t *testing.T) {
	for _, noLimit := range []bool{false, true} {
		t.Run(fmt.Sprintf("getblockbylimitnext=%v", !noLimit), func(t *testing.T) {
			ctx := context.Background()
			n := newNode(t)
			n.noLimit = noLimit
			_, s := n.serve(t)
			if s.ID() != "tron:mainnet" || s.Chain() != chain.Tron {
				t.Errorf("id %q chain %q", s.ID(), s.Chain())
			}
			head, err := s.Head(ctx)
			if err != nil || head != recHeight+1 {
				t.Fatalf("head %d %v", head, err)
			}
			id, err := s.HashAt(ctx, recHeight)
			if err != nil || id != recID {
				t.Fatalf("hash at %d: %q %v", recHeight, id, err)
			}
			blocks, err := s.Blocks(ctx, recHeight, recHeight+1)
			if err != nil {
				t.Fatal(err)
			}
			b := blocks[0]
			if b.Height != recHeight || b.Hash != recID || b.Parent != recParent || !b.Time.Equal(time.Date(2022, 9, 1, 6, 40, 42, 0, time.UTC)) || b.Chain != chain.Tron {
				t.Errorf("block %d %s parent %s at %s", b.Height, b.Hash, b.Parent, b.Time)
			}
			if blocks[1].Parent != b.Hash || len(blocks[1].Txs) != 0 {
				t.Errorf("child %+v", blocks[1])
			}
			want := expectedTransfers(t)
			if len(b.Txs) != len(want) || len(b.Txs) != 19 {
				t.Fatalf("%d transactions, want %d", len(b.Txs), len(want))
			}
			tokens := 0
			for i, tx := range b.Txs {
				if tx.Index != i || tx.Failed {
					t.Errorf("tx %d: %+v", i, tx)
				}
				w := want[tx.Hash]
				if len(tx.Transfers) != len(w) {
					t.Fatalf("tx %s: %d transfers, want %d: %+v", tx.Hash, len(tx.Transfers), len(w), tx.Transfers)
				}
				if len(w) > 0 && tx.From != w[0].from {
					t.Errorf("tx %s from %s, want %s", tx.Hash, tx.From, w[0].from)
				}
				for j, tr := range tx.Transfers {
					got := expected{tr.From, tr.To, tr.Kind, tr.Asset, tr.Amount.String()}
					if got != w[j] {
						t.Errorf("tx %s transfer %d: %+v, want %+v", tx.Hash, j, got, w[j])
					}
					if tr.Tx != tx.Hash || tr.Block != recHeight || !tr.Time.Equal(b.Time) || tr.Chain != chain.Tron {
						t.Errorf("tx %s transfer %d: %+v", tx.Hash, j, tr)
					}
					if tr.Kind == chain.KindToken {
						tokens++
						if tr.Asset != usdt || tx.Fee.String() != "5949900" || tr.Pos != 0 {
							t.Errorf("tx %s: USDT transfer %+v, fee %s", tx.Hash, tr, tx.Fee)
						}
					}
				}
			}
			if tokens != 9 {
				t.Errorf("%d USDT transfers, want 9", tokens)
			}
			// Spot checks against explorers' reading of the block.
			if tr := b.Txs[4].Transfers[0]; tr.Amount.String() != "6000000000" || tr.To != b58(t, "412c7c9963111905d29eb8da37d28b0f53a7bb5c28") {
				t.Errorf("6,000 TRX call: %+v", tr)
			}
			if tr := b.Txs[3].Transfers[0]; tr.Asset != "1004089" || tr.Amount.String() != "10000000" {
				t.Errorf("TRC-10 transfer: %+v", tr)
			}
			wantCalls := map[bool]string{false: "getblockbylimitnext", true: "getblockbynum"}[noLimit]
			if n.calls(wantCalls) == 0 || n.calls("gettransactioninfobyblocknum") != 1 {
				t.Errorf("calls: %s %d, infos %d", wantCalls, n.calls(wantCalls), n.calls("gettransactioninfobyblocknum"))
			}
		})
	}
}

// TestTxIDChecked alters one digit of a recorded transaction: its id no
// longer hashes its raw bytes, and the block is refused.
func TestTxIDChecked(t *testing.T) {
	n := newNode(t)
	rec := string(n.blocks[recHeight])
	const id = "ce33abfbc9d80036e8aad4aa9437dc5a4eb2004e54fa20a4ef7d527787eeeeb8"
	for name, bad := range map[string]string{
		"txID":         strings.Replace(rec, id, "ce33abfbc9d80036e8aad4aa9437dc5a4eb2004e54fa20a4ef7d527787eeeeb9", 1),
		"raw_data_hex": strings.Replace(rec, "1b6e184070a0e59ebeaf30900180ade204", "1b6e184170a0e59ebeaf30900180ade204", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if bad == rec {
				t.Fatal("the alteration did not apply")
			}
			n.blocks[recHeight] = []byte(bad)
			_, s := n.serve(t)
			_, err := s.Blocks(context.Background(), recHeight, recHeight)
			if err == nil || !strings.Contains(err.Error(), "block 43811922") || !strings.Contains(err.Error(), "is not the SHA-256 of its raw_data_hex") {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func TestMalformedAnswers(t *testing.T) {
	rec := readFile(t, "getblockbynum-43811922.json")
	infos := readFile(t, "gettransactioninfobyblocknum-43811922.json")
	for _, c := range []struct {
		name   string
		set    func(n *node)
		errHas []string
	}{
		{"truncated block", func(n *node) { n.blocks[recHeight] = rec[:len(rec)/2] }, []string{"blocks 43811922-43811923", "malformed answer"}},
		{"truncated block, one by one", func(n *node) { n.blocks[recHeight], n.noLimit = rec[:len(rec)/2], true }, []string{"block 43811922: getblockbynum: malformed block", "unexpected end of JSON input"}},
		{"truncated infos", func(n *node) { n.infos[recHeight] = infos[:len(infos)/3] }, []string{"block 43811922", "malformed transaction infos"}},
		{"wrong height", func(n *node) { n.blocks[recHeight+1] = rec }, []string{"getblockbylimitnext answered block 43811922 twice"}},
		{"parent of another height", func(n *node) {
			n.blocks[recHeight] = bytes.Replace(rec, []byte(recParent), []byte("00000000029c8450ef43c8e220dfc961d2be8da04c05f8dffa0c62d4c0ecb9e4"), 1)
		}, []string{"block 43811922: parent 00000000029c8450", "is block 43811920"}},
		{"bad owner", func(n *node) {
			// A transaction whose raw bytes are no Tron transaction: its
			// id is right, so only the decoding can refuse it.
			n.blocks[recHeight] = []byte(`{"blockID":"` + recID + `","block_header":{"raw_data":{"number":43811922,"parentHash":"` + recParent + `","timestamp":1662014442000}},
"transactions":[{"txID":"` + sha256Hex("5a0a0801120612040a020000") + `","raw_data_hex":"5a0a0801120612040a020000"}]}`)
			n.infos[recHeight] = []byte(`[{"id":"` + sha256Hex("5a0a0801120612040a020000") + `","blockNumber":43811922}]`)
		}, []string{"block 43811922: transaction 0", "TransferContract: owner_address: 0000 is not a Tron address"}},
		{"missing infos", func(n *node) { n.infos[recHeight] = []byte("[]") }, []string{"0 transaction infos for 19 transactions", "kept reorganising"}},
		{"infos of another block", func(n *node) {
			n.infos[recHeight] = bytes.ReplaceAll(infos, []byte(`"blockNumber":43811922`), []byte(`"blockNumber":43811921`))
		}, []string{"in block 43811921"}},
		{"node error", func(n *node) {
			n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
				if method != "getblockbylimitnext" {
					return false
				}
				w.Write([]byte(`{"Error":"class java.lang.NullPointerException : null"}`))
				return true
			})
		}, []string{"blocks 43811922-43811923", "the node answered an error: class java.lang.NullPointerException : null", "gave up after 3 retries"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t)
			_, s := n.serve(t)
			c.set(n)
			_, err := s.Blocks(context.Background(), recHeight, recHeight+1)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range c.errHas {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func sha256Hex(rawHex string) string {
	raw, _ := hex.DecodeString(rawHex)
	return sha256HexBytes(raw)
}

// TestRetries fails the first requests of each kind: the source retries
// and gets the block.
func TestRetries(t *testing.T) {
	n := newNode(t)
	var failures atomic.Int64
	_, s := n.serve(t)
	s.opts.Retries = 4
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		if failures.Load() >= 4 {
			return false
		}
		switch failures.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			// A connection cut while the answer is sent.
			w.Header().Set("Content-Length", "100000")
			w.Write([]byte(`{"block":[{"blockID":`))
		case 4:
			w.Write([]byte(`{"Error":"java.util.concurrent.TimeoutException"}`))
		}
		return true
	})
	blocks, err := s.Blocks(context.Background(), recHeight, recHeight+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || len(blocks[0].Txs) != 19 {
		t.Fatalf("%d blocks", len(blocks))
	}
	if st := s.Stats(); st.Retries != 4 || st.Requests < 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestNotFoundAndRefused(t *testing.T) {
	n := newNode(t)
	_, s := n.serve(t)
	_, err := s.Blocks(context.Background(), recHeight+1, recHeight+2)
	if err == nil || !strings.Contains(err.Error(), "tron block 43811924 not found (head is 43811923)") {
		t.Errorf("beyond the head: %v", err)
	}
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("invalid api key"))
		return true
	})
	before := n.requests.Load()
	_, err = s.Head(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 403: invalid api key") || n.requests.Load() != before+1 {
		t.Errorf("a refusal is final: %v after %d requests", err, n.requests.Load()-before)
	}
}

func TestCancel(t *testing.T) {
	n := newNode(t)
	_, s := n.serve(t)
	stall := make(chan struct{})
	defer close(stall)
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Blocks(ctx, recHeight, recHeight)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
}

func TestOptions(t *testing.T) {
	if _, err := NewSource(context.Background(), "http://127.0.0.1:1", SourceOptions{BatchSize: 101}); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Errorf("batch of 101: %v", err)
	}
	if _, err := NewSource(context.Background(), "grpc://127.0.0.1:50051", SourceOptions{}); err == nil {
		t.Error("a gRPC URL accepted")
	}
	if got := redactURL("https://user:secret@api.trongrid.io/key/abc?apikey=1"); got != "https://api.trongrid.io" {
		t.Errorf("redacted %q", got)
	}
}

// TestAPIKey checks TronGrid's header is sent.
func TestAPIKey(t *testing.T) {
	n := newNode(t)
	var got atomic.Value
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		got.Store(r.Header.Get("TRON-PRO-API-KEY"))
		return false
	})
	srv := httptest.NewServer(n)
	defer srv.Close()
	if _, err := NewSource(context.Background(), srv.URL+"/", SourceOptions{APIKey: "k-123"}); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "k-123" {
		t.Errorf("header %v", got.Load())
	}
}

func sha256HexBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// editInfos decodes the transaction infos, lets edit change them and
// encodes them again.
func editInfos(t *testing.T, body []byte, edit func([]map[string]any)) []byte {
	t.Helper()
	var infos []map[string]any
	if err := json.Unmarshal(body, &infos); err != nil {
		t.Fatal(err)
	}
	edit(infos)
	out, err := json.Marshal(infos)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mapRecorded(t *testing.T, infos []byte) (*chain.Block, error) {
	t.Helper()
	rb, err := decodeBlock(readFile(t, "getblockbynum-43811922.json"))
	if err != nil {
		t.Fatal(err)
	}
	return mapBlock(rb, infos)
}

// TestFailedAndInternal edits the infos: a USDT transfer whose execution
// reverted moves nothing but pays its fee; the 6,000 TRX call gets
// internal transactions (constructed: the recorded block's infos are
// not at hand), of which the rejected one and the one moving nothing
// are left out.
func TestFailedAndInternal(t *testing.T) {
	infos := editInfos(t, readFile(t, "gettransactioninfobyblocknum-43811922.json"), func(in []map[string]any) {
		in[1]["receipt"].(map[string]any)["result"] = "REVERT"
		in[1]["result"] = "FAILED"
		delete(in[1], "log")
		in[4]["internal_transactions"] = []any{
			map[string]any{"hash": strings.Repeat("ab", 32), "caller_address": "412c7c9963111905d29eb8da37d28b0f53a7bb5c28", "transferTo_address": "41a5a2a949e41c8453ffe456f508a2abd46591dd64",
				"callValueInfo": []any{map[string]any{"callValue": 1500000000}}, "note": "63616c6c"},
			map[string]any{"hash": strings.Repeat("cd", 32), "caller_address": "412c7c9963111905d29eb8da37d28b0f53a7bb5c28", "transferTo_address": "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
				"callValueInfo": []any{map[string]any{}}, "note": "63616c6c"},
			map[string]any{"hash": strings.Repeat("ef", 32), "caller_address": "412c7c9963111905d29eb8da37d28b0f53a7bb5c28", "transferTo_address": "41a5a2a949e41c8453ffe456f508a2abd46591dd64",
				"callValueInfo": []any{map[string]any{"callValue": 7, "tokenId": "1004089"}}, "note": "63616c6c"},
			map[string]any{"hash": strings.Repeat("01", 32), "caller_address": "412c7c9963111905d29eb8da37d28b0f53a7bb5c28", "transferTo_address": "41a5a2a949e41c8453ffe456f508a2abd46591dd64",
				"callValueInfo": []any{map[string]any{"callValue": 99}}, "note": "63616c6c", "rejected": true},
		}
	})
	b, err := mapRecorded(t, infos)
	if err != nil {
		t.Fatal(err)
	}
	failed := b.Txs[1]
	if !failed.Failed || len(failed.Transfers) != 0 || failed.Fee.String() != "5949900" || failed.From != b58(t, "414d5a62a45b04a10f08728c19863cf17e4b2a9cf7") {
		t.Errorf("failed tx %+v", failed)
	}
	var got []string
	for _, tr := range b.Txs[4].Transfers {
		got = append(got, fmt.Sprintf("%s %d %s>%s %s %s", tr.Kind, tr.Pos, tr.From[:6], tr.To[:6], tr.Asset, tr.Amount))
	}
	mint, caller := b58(t, "412c7c9963111905d29eb8da37d28b0f53a7bb5c28")[:6], b58(t, "41a5a2a949e41c8453ffe456f508a2abd46591dd64")[:6]
	want := []string{
		"native 0 " + caller + ">" + mint + "  6000000000",
		"internal 1 " + mint + ">" + caller + "  1500000000",
		"internal 2 " + mint + ">" + caller + " 1004089 7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transfers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A failure said only by the block's contractRet counts too.
	rec := bytes.Replace(readFile(t, "getblockbynum-43811922.json"), []byte(`{"ret":[{"contractRet":"SUCCESS"}],"signature":["8fc92222`), []byte(`{"ret":[{"contractRet":"OUT_OF_ENERGY"}],"signature":["8fc92222`), 1)
	rb, err := decodeBlock(rec)
	if err != nil {
		t.Fatal(err)
	}
	b, err = mapBlock(rb, readFile(t, "gettransactioninfobyblocknum-43811922.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Txs[2].Failed || len(b.Txs[2].Transfers) != 0 {
		t.Errorf("OUT_OF_ENERGY tx %+v", b.Txs[2])
	}
}

// TestLogShapes: logs that are no TRC-20 Transfer (another event, a
// TRC-721 Transfer with its token id indexed) move nothing; a log address
// given with its 41 reads the same; a bad one is an error.
func TestLogShapes(t *testing.T) {
	base := readFile(t, "gettransactioninfobyblocknum-43811922.json")
	log := func(in []map[string]any) map[string]any {
		return in[1]["log"].([]any)[0].(map[string]any)
	}
	for _, c := range []struct {
		name   string
		edit   func(map[string]any)
		tokens int
		err    string
	}{
		{"as given", func(map[string]any) {}, 1, ""},
		{"address with 41", func(l map[string]any) { l["address"] = "41" + l["address"].(string) }, 1, ""},
		{"Approval", func(l map[string]any) {
			l["topics"].([]any)[0] = "8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"
		}, 0, ""},
		{"TRC-721", func(l map[string]any) {
			l["topics"] = append(l["topics"].([]any), l["data"])
			l["data"] = ""
		}, 0, ""},
		{"bad address", func(l map[string]any) { l["address"] = "zz" }, 0, `transaction 1 (d057c8aa75c5267a6d723be4c28bf8e2b486d363d70713508a50c57c829313de): log 0: "zz" is not hex`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := mapRecorded(t, editInfos(t, base, func(in []map[string]any) { c.edit(log(in)) }))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, tr := range b.Txs[1].Transfers {
				if tr.Kind == chain.KindToken && tr.Asset == usdt && tr.Amount.String() == "2000000000" {
					n++
				}
			}
			if n != c.tokens || len(b.Txs[1].Transfers) != c.tokens {
				t.Errorf("%d token transfers of %d, want %d", n, len(b.Txs[1].Transfers), c.tokens)
			}
		})
	}
}

// BenchmarkMapBlock decodes and maps the recorded block and its
// transaction infos: the source's own CPU per block, without the node.
//
//	go test ./ingest/tron -run '^$' -bench MapBlock -benchtime 2s
func BenchmarkMapBlock(b *testing.B) {
	block := readFile(b, "getblockbynum-43811922.json")
	infos := readFile(b, "gettransactioninfobyblocknum-43811922.json")
	n := 0
	for b.Loop() {
		rb, err := decodeBlock(block)
		if err != nil {
			b.Fatal(err)
		}
		blk, err := mapBlock(rb, infos)
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for i := range blk.Txs {
			n += len(blk.Txs[i].Transfers)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric(float64(len(block)+len(infos))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// headerChain adds n constructed blocks (headers without transactions)
// on top of the recorded one; tag marks a branch.
func (n *node) headerChain(count int, tag byte) {
	parent := recID
	for h := uint64(recHeight + 1); h <= recHeight+uint64(count); h++ {
		id := fmt.Sprintf("%016x%02x%046x", h, tag, h)
		n.blocks[h] = []byte(fmt.Sprintf(`{"blockID":"%s","block_header":{"raw_data":{"number":%d,"parentHash":"%s","timestamp":%d}}}`, id, h, parent, 1662014442000+3000*(h-recHeight)))
		parent = id
	}
	n.head = recHeight + uint64(count)
}

// TestRanges reads more blocks than a call holds, on several
// connections: the calls stay within the batch size, and the blocks come
// back whole and in order.
func TestRanges(t *testing.T) {
	n := newNode(t)
	n.headerChain(45, 0xaa)
	var widest atomic.Int64
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		if method == "getblockbylimitnext" {
			var args struct{ StartNum, EndNum int64 }
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			json.Unmarshal(body, &args)
			if d := args.EndNum - args.StartNum; d > widest.Load() {
				widest.Store(d)
			}
		}
		return false
	})
	_, s := n.serve(t)
	s.opts.BatchSize, s.opts.Concurrency = 10, 3
	blocks, err := s.Blocks(context.Background(), recHeight, recHeight+45)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 46 || linked(blocks) != 0 || blocks[0].Hash != recID || len(blocks[0].Txs) != 19 {
		t.Fatalf("%d blocks, broken at %d", len(blocks), linked(blocks))
	}
	for i, b := range blocks {
		if b.Height != recHeight+uint64(i) {
			t.Fatalf("block %d at %d", b.Height, i)
		}
	}
	if widest.Load() != 10 || n.calls("getblockbylimitnext") != 5 {
		t.Errorf("widest call %d blocks, %d calls", widest.Load(), n.calls("getblockbylimitnext"))
	}
}

// TestReorgWhileReading switches the node to another branch after the
// first range is answered: the ranges no longer link, and the source
// reads again rather than return a broken chain.
func TestReorgWhileReading(t *testing.T) {
	n := newNode(t)
	n.headerChain(20, 0xaa)
	var switched atomic.Bool
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		if method == "getblockbylimitnext" && switched.CompareAndSwap(false, true) {
			// Answer this call from the old branch, then move the
			// blocks above 43811932 to another.
			n.ServeHTTP(w, r)
			parent := fmt.Sprintf("%016x%02x%046x", recHeight+10, 0xaa, recHeight+10)
			n.mu.Lock()
			for h := uint64(recHeight + 11); h <= recHeight+20; h++ {
				id := fmt.Sprintf("%016x%02x%046x", h, 0xbb, h)
				n.blocks[h] = []byte(fmt.Sprintf(`{"blockID":"%s","block_header":{"raw_data":{"number":%d,"parentHash":"%s","timestamp":%d}}}`, id, h, parent, 1662014442000+3000*(h-recHeight)))
				parent = id
			}
			n.mu.Unlock()
			return true
		}
		return false
	})
	_, s := n.serve(t)
	s.opts.BatchSize, s.opts.Concurrency = 15, 1
	blocks, err := s.Blocks(context.Background(), recHeight, recHeight+20)
	if err != nil {
		t.Fatal(err)
	}
	if linked(blocks) != 0 || blocks[20].Hash[16:18] != "bb" || s.Stats().Retries != 1 {
		t.Errorf("tip %s, broken at %d, %d retries", blocks[20].Hash, linked(blocks), s.Stats().Retries)
	}
}
