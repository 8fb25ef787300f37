//go:build integration

package ethrpc_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/nodetest"
)

// contract is a compiled test contract from testdata.
type contract struct {
	abi abi.ABI
	bin []byte
}

func loadContract(t *testing.T, name string) contract {
	t.Helper()
	f, err := os.Open("testdata/" + name + ".abi")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := abi.JSON(f)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile("testdata/" + name + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	code, err := hex.DecodeString(strings.TrimSpace(string(bin)))
	if err != nil {
		t.Fatal(err)
	}
	return contract{a, code}
}

func (c contract) pack(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	data, err := c.abi.Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// account signs and sends transactions on the dev node.
type account struct {
	g    *nodetest.Geth
	key  *ecdsa.PrivateKey
	addr common.Address
}

func newAccount(t *testing.T, g *nodetest.Geth) *account {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &account{g, key, crypto.PubkeyToAddress(key.PublicKey)}
}

// send signs a transaction, waits for it to be mined and returns its
// receipt. gas 0 asks the node for an estimate.
func (a *account) send(t *testing.T, to *common.Address, value *big.Int, data []byte, gas uint64) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := a.g.Client
	nonce, err := c.PendingNonceAt(ctx, a.addr)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(1_000_000_000)
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data,
	})
	if gas == 0 {
		est, err := c.EstimateGas(ctx, callMsg(a.addr, to, value, data))
		if err != nil {
			t.Fatalf("estimate gas: %v", err)
		}
		tx = types.NewTx(&types.DynamicFeeTx{
			ChainID: id, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: est + est/5, To: to, Value: value, Data: data,
		})
	}
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(id), a.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, signed); err != nil {
		t.Fatalf("send: %v", err)
	}
	for {
		r, err := c.TransactionReceipt(ctx, signed.Hash())
		if err == nil {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("transaction %s not mined: %v", signed.Hash().Hex(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// deploy creates a contract and returns its address.
func (a *account) deploy(t *testing.T, c contract, args ...any) common.Address {
	t.Helper()
	data := append([]byte{}, c.bin...)
	data = append(data, c.pack(t, "", args...)...)
	r := a.send(t, nil, nil, data, 0)
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deployment failed")
	}
	return r.ContractAddress
}

func callMsg(from common.Address, to *common.Address, value *big.Int, data []byte) ethereum.CallMsg {
	return ethereum.CallMsg{From: from, To: to, Value: value, Data: data}
}

func lower(a common.Address) string { return strings.ToLower(a.Hex()) }

// TestSourceAgainstGeth makes real transactions on a geth --dev node (ETH
// payments, an ERC-20 with transfers, contracts that forward value
// internally, reverted subcalls, self-destruction, a failed transaction),
// reads the blocks back through Source, and checks every account's balance
// the node reports against the sum of what the transfers and fees say.
func TestSourceAgainstGeth(t *testing.T) {
	g := nodetest.StartGeth(t, nodetest.GethOptions{})
	ctx := context.Background()
	dev := &account{g, g.DevKey, g.DevAddr}
	alice, bob, carol, dave := newAccount(t, g), newAccount(t, g), newAccount(t, g), newAccount(t, g)
	token, fwd := loadContract(t, "Token"), loadContract(t, "Forwarder")

	ether := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	dev.send(t, &alice.addr, new(big.Int).Mul(big.NewInt(10), ether), nil, 21000)
	dev.send(t, &bob.addr, big.NewInt(1_500_000_000_000_000_001), nil, 21000)

	supply := new(big.Int).Mul(big.NewInt(1_000_000), ether)
	tok := alice.deploy(t, token, supply)
	alice.send(t, &tok, nil, token.pack(t, "transfer", bob.addr, big.NewInt(12345)), 0)
	bob.send(t, &tok, nil, token.pack(t, "transfer", carol.addr, big.NewInt(345)), 0)
	// A transfer of more than bob holds reverts: it pays its fee and
	// moves nothing.
	failed := bob.send(t, &tok, nil, token.pack(t, "transfer", carol.addr, big.NewInt(1_000_000)), 100_000)
	if failed.Status != types.ReceiptStatusFailed {
		t.Fatal("the over-balance transfer succeeded")
	}

	f1, f2 := alice.deploy(t, fwd), alice.deploy(t, fwd)
	alice.send(t, &f1, big.NewInt(1001), fwd.pack(t, "split", carol.addr, dave.addr), 0)
	alice.send(t, &f1, big.NewInt(2000), fwd.pack(t, "relay", f2, carol.addr, dave.addr), 0)
	alice.send(t, &f1, big.NewInt(777), fwd.pack(t, "tryFail", dave.addr), 0)
	alice.send(t, &f1, big.NewInt(300), fwd.pack(t, "spawn", carol.addr, false), 0)
	alice.send(t, &f1, big.NewInt(301), fwd.pack(t, "spawn", dave.addr, true), 0)
	alice.send(t, &f2, big.NewInt(5000), nil, 0) // receive()
	alice.send(t, &f2, nil, fwd.pack(t, "sweep", carol.addr), 0)

	head, err := g.Client.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := ethrpc.NewSource(ctx, g.URL, ethrpc.SourceOptions{BatchSize: 3, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.Traces() {
		t.Fatalf("geth --dev should trace blocks: %s", src.Warning())
	}
	blocks, err := src.Blocks(ctx, 1, head)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(blocks)) != head {
		t.Fatalf("%d blocks for 1..%d", len(blocks), head)
	}

	// Balances from the transfers: native value in minus out minus fees,
	// tokens in minus out.
	native := map[string]*big.Int{}
	tokens := map[string]*big.Int{}
	bump := func(m map[string]*big.Int, addr string, v *big.Int, sign int) {
		if m[addr] == nil {
			m[addr] = new(big.Int)
		}
		if sign > 0 {
			m[addr].Add(m[addr], v)
		} else {
			m[addr].Sub(m[addr], v)
		}
	}
	var internal, tokenMoves, failedTxs int
	for _, b := range blocks {
		hdr, err := g.Client.HeaderByNumber(ctx, new(big.Int).SetUint64(b.Height))
		if err != nil {
			t.Fatal(err)
		}
		if b.Hash != hdr.Hash().Hex() || b.Parent != hdr.ParentHash.Hex() || b.Time.Unix() != int64(hdr.Time) {
			t.Errorf("block %d header: %s/%s", b.Height, b.Hash, b.Parent)
		}
		for _, tx := range b.Txs {
			r, err := g.Client.TransactionReceipt(ctx, common.HexToHash(tx.Hash))
			if err != nil {
				t.Fatal(err)
			}
			fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
			if tx.Fee.Big().Cmp(fee) != 0 {
				t.Errorf("tx %s fee %s, node says %s", tx.Hash, tx.Fee, fee)
			}
			if tx.Failed != (r.Status == types.ReceiptStatusFailed) {
				t.Errorf("tx %s failed=%v, node status %d", tx.Hash, tx.Failed, r.Status)
			}
			if tx.Failed {
				failedTxs++
				if len(tx.Transfers) != 0 {
					t.Errorf("failed tx %s has transfers %v", tx.Hash, tx.Transfers)
				}
			}
			bump(native, tx.From, fee, -1)
			for _, tr := range tx.Transfers {
				v := tr.Amount.Big()
				switch tr.Kind {
				case chain.KindNative, chain.KindInternal:
					if tr.Kind == chain.KindInternal {
						internal++
					}
					bump(native, tr.From, v, -1)
					bump(native, tr.To, v, +1)
				case chain.KindToken:
					tokenMoves++
					if tr.Asset != chain.Asset(lower(tok)) {
						t.Errorf("token transfer of %s", tr.Asset)
					}
					if tr.From != lower(common.Address{}) {
						bump(tokens, tr.From, v, -1)
					}
					bump(tokens, tr.To, v, +1)
				}
			}
		}
	}
	// 500+501, 1000+1000 two calls deep, 2000 into f2, 777 direct (the
	// reverted forward of 777 does not count), 300 and 301 into the
	// burners and out again, and the sweep.
	if internal != 2+1+2+1+2+2+1 || tokenMoves != 3 || failedTxs != 1 {
		t.Errorf("%d internal transfers, %d token transfers, %d failed txs", internal, tokenMoves, failedTxs)
	}
	for _, a := range []common.Address{alice.addr, bob.addr, carol.addr, dave.addr, f1, f2} {
		bal, err := g.Client.BalanceAt(ctx, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := native[lower(a)]
		if got == nil {
			got = new(big.Int)
		}
		if got.Cmp(bal) != 0 {
			t.Errorf("%s: transfers say %s wei, node says %s", a.Hex(), got, bal)
		}
	}
	if native[lower(dave.addr)].Cmp(big.NewInt(501+1000+777+301)) != 0 {
		t.Errorf("dave received %s", native[lower(dave.addr)])
	}
	for _, a := range []common.Address{alice.addr, bob.addr, carol.addr} {
		out, err := g.Client.CallContract(ctx, callMsg(a, &tok, nil, token.pack(t, "balanceOf", a)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tokens[lower(a)].Cmp(new(big.Int).SetBytes(out)) != 0 {
			t.Errorf("%s token balance: transfers say %s, contract says %s", a.Hex(), tokens[lower(a)], new(big.Int).SetBytes(out))
		}
	}
	st := src.Stats()
	t.Logf("%d blocks: %d requests, %d calls, %d retries, wait %s, decode %s", len(blocks), st.Requests, st.Calls, st.Retries, st.Wait, st.Decode)
}

// TestSourceRetriesAndReports puts a proxy in front of the node that fails
// requests: a node that errs for a while is retried, and one that is gone
// is reported with the blocks it was asked for, never skipped.
func TestSourceRetriesAndReports(t *testing.T) {
	g := nodetest.StartGeth(t, nodetest.GethOptions{})
	ctx := context.Background()
	dev := &account{g, g.DevKey, g.DevAddr}
	to := common.HexToAddress("0x00000000000000000000000000000000000000b0")
	for range 4 {
		dev.send(t, &to, big.NewInt(1), nil, 21000)
	}
	target, _ := url.Parse(g.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var fail atomic.Int32 // requests still to fail; -1 fails all
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := fail.Load(); n != 0 {
			if n > 0 {
				fail.Add(-1)
			}
			http.Error(w, "node restarting", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()

	src, err := ethrpc.NewSource(ctx, srv.URL, ethrpc.SourceOptions{Backoff: time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fail.Store(3)
	blocks, err := src.Blocks(ctx, 1, 4)
	if err != nil || len(blocks) != 4 {
		t.Fatalf("after 3 failures: %d blocks, %v", len(blocks), err)
	}
	if src.Stats().Retries < 3 {
		t.Errorf("retries %d", src.Stats().Retries)
	}
	fail.Store(-1)
	_, err = src.Blocks(ctx, 1, 4)
	if err == nil || !strings.Contains(err.Error(), "blocks 1-4") || !strings.Contains(err.Error(), "gave up after 3 retries") {
		t.Errorf("node gone: %v", err)
	}
}
