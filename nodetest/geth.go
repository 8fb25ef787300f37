package nodetest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// gethDevKey is the key geth --dev imports as its pre-funded developer
// account when the keystore is empty (cmd/utils.DeveloperKey). It is a
// well-known test key that owns nothing on any real network.
const gethDevKey = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"

// GethOptions configures a geth --dev node.
type GethOptions struct {
	// Period is the block period in seconds; 0 seals a block as soon as a
	// transaction arrives.
	Period int
	// Args are further geth flags.
	Args []string
}

// Geth is a geth --dev node on 127.0.0.1 with its HTTP JSON-RPC server
// offering the eth, net, web3, debug and txpool APIs, for one test.
type Geth struct {
	// URL is the HTTP JSON-RPC endpoint.
	URL string
	Dir string
	// DevKey owns the pre-funded developer account DevAddr, which also
	// receives the priority fees of the blocks the node seals.
	DevKey  *ecdsa.PrivateKey
	DevAddr common.Address
	// Client talks to URL.
	Client *ethclient.Client

	*process

	mu      sync.Mutex // Pay's nonce
	chainID *big.Int
	nonce   uint64
}

// StartGeth builds geth at the pinned version (once per machine; about
// three minutes), starts a --dev node in a temporary directory and waits
// for its RPC server. The node is killed when the test ends, and the tail
// of its log is printed if the test failed.
func StartGeth(t testing.TB, opts GethOptions) *Geth {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin, err := Tool(ctx, "geth", GethModule, GethVersion)
	if err != nil {
		t.Fatal(err)
	}
	g, err := startGeth(bin, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	g.attach(t, g.Kill)
	if err := g.waitRPC(ctx, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, g.LogTail(40))
	}
	return g
}

func startGeth(bin, dir string, opts GethOptions) (*Geth, error) {
	httpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	authPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	key, err := crypto.HexToECDSA(gethDevKey)
	if err != nil {
		return nil, err
	}
	g := &Geth{
		URL:     "http://127.0.0.1:" + strconv.Itoa(httpPort),
		Dir:     dir,
		DevKey:  key,
		DevAddr: crypto.PubkeyToAddress(key.PublicKey),
	}
	args := []string{
		"--dev",
		"--dev.period", strconv.Itoa(opts.Period),
		"--datadir", filepath.Join(dir, "data"),
		"--http",
		"--http.addr", "127.0.0.1",
		"--http.port", strconv.Itoa(httpPort),
		"--http.api", "eth,net,web3,debug,txpool",
		"--authrpc.addr", "127.0.0.1",
		"--authrpc.port", strconv.Itoa(authPort),
		"--ipcdisable",
		"--nodiscover",
		"--maxpeers", "0",
		"--port", "0",
		// Small caches: a dev chain is tiny and the machine is shared.
		"--cache", "256",
	}
	args = append(args, opts.Args...)
	if g.process, err = startProcess("geth", bin, dir, args); err != nil {
		return nil, err
	}
	return g, nil
}

// waitRPC polls the RPC server until it answers and the developer
// account holds its allocation.
func (g *Geth) waitRPC(ctx context.Context, limit time.Duration) error {
	c, err := rpc.DialContext(ctx, g.URL)
	if err != nil {
		return err
	}
	g.Client = ethclient.NewClient(c)
	return g.waitReady(ctx, limit, "RPC server at "+g.URL, func(ctx context.Context) error {
		bal, err := g.Client.BalanceAt(ctx, g.DevAddr, nil)
		if err != nil {
			return notReady(err)
		}
		if bal.Sign() == 0 {
			return fmt.Errorf("geth --dev: developer account %s holds nothing: the node uses another developer key", g.DevAddr.Hex())
		}
		return nil
	})
}

// Kill stops the node at once. It is safe to call more than once.
func (g *Geth) Kill() {
	g.stop(func() {
		if g.Client != nil {
			g.Client.Close()
		}
	})
}

// Pay sends wei from the developer account to `to` in a plain transfer
// and returns the transaction's hash without waiting for it to be mined.
func (g *Geth) Pay(ctx context.Context, to common.Address, wei *big.Int) (common.Hash, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.chainID == nil {
		id, err := g.Client.ChainID(ctx)
		if err != nil {
			return common.Hash{}, err
		}
		nonce, err := g.Client.PendingNonceAt(ctx, g.DevAddr)
		if err != nil {
			return common.Hash{}, err
		}
		g.chainID, g.nonce = id, nonce
	}
	h, err := send(ctx, g.Client, g.chainID, g.DevKey, g.nonce, to, wei)
	if err != nil {
		return common.Hash{}, err
	}
	g.nonce++
	return h, nil
}

// PayFrom sends wei from the account of key (which must hold the fee
// too) to `to` and returns the transaction's hash without waiting for it
// to be mined. Not for the developer account: use Pay.
func (g *Geth) PayFrom(ctx context.Context, key *ecdsa.PrivateKey, to common.Address, wei *big.Int) (common.Hash, error) {
	id, err := g.Client.ChainID(ctx)
	if err != nil {
		return common.Hash{}, err
	}
	nonce, err := g.Client.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		return common.Hash{}, err
	}
	return send(ctx, g.Client, id, key, nonce, to, wei)
}

// send signs and sends a plain transfer.
func send(ctx context.Context, c *ethclient.Client, chainID *big.Int, key *ecdsa.PrivateKey, nonce uint64, to common.Address, wei *big.Int) (common.Hash, error) {
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: 21000, To: &to, Value: wei})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(chainID), key)
	if err != nil {
		return common.Hash{}, err
	}
	if err := c.SendTransaction(ctx, signed); err != nil {
		return common.Hash{}, fmt.Errorf("send: %w", err)
	}
	return signed.Hash(), nil
}

// Mined waits for a transaction's receipt.
func (g *Geth) Mined(ctx context.Context, tx common.Hash) (*types.Receipt, error) {
	for {
		r, err := g.Client.TransactionReceipt(ctx, tx)
		if err == nil {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("transaction %s not mined: %w", tx.Hex(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
