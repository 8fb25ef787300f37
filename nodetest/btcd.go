package nodetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// BtcdOptions configures a simnet btcd.
type BtcdOptions struct {
	// MiningAddr is the simnet address generated blocks pay; Generate
	// needs one.
	MiningAddr string
	// Args are further btcd flags.
	Args []string
}

// Btcd is a btcd --simnet running on 127.0.0.1 with its RPC server
// without TLS, for one test. btcd has no wallet: tests hold their own
// keys, mine to them and send transactions they sign.
type Btcd struct {
	// RPCAddr is the RPC server's host:port; URL is http://RPCAddr.
	RPCAddr    string
	URL        string
	User, Pass string
	Params     *chaincfg.Params
	Dir        string

	ctl  string // btcctl binary
	conf string // btcctl's configuration
	*process
	id     atomic.Uint64
	client *http.Client
}

// StartBtcd builds btcd and btcctl at the pinned version (once per
// machine), starts a simnet node in a temporary directory and waits for
// its RPC server. The node is killed when the test ends, and the tail of
// its log is printed if the test failed.
func StartBtcd(t testing.TB, opts BtcdOptions) *Btcd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin, err := Tool(ctx, "btcd", BtcdModule, BtcdVersion)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := Tool(ctx, "btcctl", BtcctlModule, BtcdVersion)
	if err != nil {
		t.Fatal(err)
	}
	b, err := startBtcd(bin, ctl, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	b.attach(t, b.Kill)
	if err := b.waitRPC(ctx, time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, b.LogTail(40))
	}
	return b
}

func startBtcd(bin, ctl, dir string, opts BtcdOptions) (*Btcd, error) {
	rpcPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	p2pPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	b := &Btcd{
		RPCAddr: "127.0.0.1:" + strconv.Itoa(rpcPort),
		User:    "tracehound",
		Pass:    "simnet",
		Params:  &chaincfg.SimNetParams,
		Dir:     dir,
		ctl:     ctl,
		conf:    filepath.Join(dir, "btcctl.conf"),
		client:  &http.Client{Timeout: 2 * time.Minute},
	}
	b.URL = "http://" + b.RPCAddr
	// Both programs create a default configuration in the home directory
	// when theirs is missing: give them their own.
	btcdConf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(btcdConf, nil, 0o600); err != nil {
		return nil, err
	}
	ctlConf := fmt.Sprintf("[Application Options]\nsimnet=1\nnotls=1\nrpcserver=%s\nrpcuser=%s\nrpcpass=%s\n", b.RPCAddr, b.User, b.Pass)
	if err := os.WriteFile(b.conf, []byte(ctlConf), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--configfile=" + btcdConf,
		"--simnet",
		"--notls",
		"--rpclisten=" + b.RPCAddr,
		"--listen=127.0.0.1:" + strconv.Itoa(p2pPort),
		"--rpcuser=" + b.User,
		"--rpcpass=" + b.Pass,
		"--datadir=" + filepath.Join(dir, "data"),
		"--logdir=" + filepath.Join(dir, "logs"),
		"--txindex",
		"--addrindex",
		"--nodnsseed",
	}
	if opts.MiningAddr != "" {
		args = append(args, "--miningaddr="+opts.MiningAddr)
	}
	args = append(args, opts.Args...)
	if b.process, err = startProcess("btcd", bin, dir, args); err != nil {
		return nil, err
	}
	return b, nil
}

// waitRPC polls the RPC server until it answers.
func (b *Btcd) waitRPC(ctx context.Context, limit time.Duration) error {
	return b.waitReady(ctx, limit, "RPC server at "+b.URL, func(ctx context.Context) error {
		if _, err := b.Call(ctx, "getblockcount"); err != nil {
			return notReady(err)
		}
		return nil
	})
}

// Kill stops the node at once. It is safe to call more than once.
func (b *Btcd) Kill() { b.stop(nil) }

// BtcdRPCError is an error the node answered with.
type BtcdRPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *BtcdRPCError) Error() string { return fmt.Sprintf("btcd rpc error %d: %s", e.Code, e.Message) }

// Call makes one JSON-RPC call and returns its raw result.
func (b *Btcd) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": b.id.Add(1), "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(b.User, b.Pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("btcd %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("btcd %s: %w", method, err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *BtcdRPCError   `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("btcd %s: HTTP %s: %q", method, resp.Status, data)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("btcd %s: %w", method, r.Error)
	}
	return r.Result, nil
}

// Generate mines n blocks paying the mining address, with the mempool's
// transactions, and returns their hashes.
func (b *Btcd) Generate(ctx context.Context, n int) ([]string, error) {
	res, err := b.Call(ctx, "generate", n)
	if err != nil {
		return nil, err
	}
	var hashes []string
	if err := json.Unmarshal(res, &hashes); err != nil {
		return nil, fmt.Errorf("btcd generate: %w", err)
	}
	if len(hashes) != n {
		return nil, fmt.Errorf("btcd generate: %d blocks of %d", len(hashes), n)
	}
	return hashes, nil
}

// SendRawTransaction submits a signed transaction and returns its id.
func (b *Btcd) SendRawTransaction(ctx context.Context, tx *wire.MsgTx) (string, error) {
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return "", err
	}
	res, err := b.Call(ctx, "sendrawtransaction", hex.EncodeToString(buf.Bytes()))
	if err != nil {
		return "", err
	}
	var id string
	if err := json.Unmarshal(res, &id); err != nil {
		return "", fmt.Errorf("btcd sendrawtransaction: %w", err)
	}
	return id, nil
}

// Ctl runs btcctl against the node and returns its output.
func (b *Btcd) Ctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.ctl, append([]string{"--configfile=" + b.conf}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("btcctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("btcctl %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
