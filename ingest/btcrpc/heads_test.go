package btcrpc

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/gorilla/websocket"
)

// headsNode is a simnet node as the head watcher sees it: JSON-RPC over
// HTTP POST (getblockhash 0 for the network check, getblockcount,
// getbestblockhash) and, as btcd, a WebSocket at /ws that answers
// notifyblocks and then sends blockconnected and filteredblockconnected
// for each block mined. Without ws it answers /ws as Bitcoin Core does:
// 404.
type headsNode struct {
	mu        sync.Mutex
	height    uint64
	branch    int  // changes every hash above the fork, for reorgs
	ws        bool // serve /ws
	wsDown    bool // answer /ws 503, as btcd going down or starting
	notifyErr bool // answer notifyblocks with an error
	conns     []*websocket.Conn

	polls, wsConns atomic.Int64
	wsAsks         atomic.Int64 // requests to /ws, answered or not
}

func (n *headsNode) hash(height uint64) string {
	if height == 0 {
		return chaincfg.SimNetParams.GenesisHash.String()
	}
	return fmt.Sprintf("%016x%048x", n.branch, height)
}

func (n *headsNode) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	t.Cleanup(n.breakWS)
	return srv.URL
}

func (n *headsNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/ws" {
		n.wsAsks.Add(1)
		n.serveWS(w, r)
		return
	}
	if r.Method != http.MethodPost {
		// Core's answer to anything but a POST at /.
		http.Error(w, "JSONRPC server handles only POST requests", http.StatusMethodNotAllowed)
		return
	}
	var q struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	var result any
	switch q.Method {
	case "getblockcount":
		result = n.height
	case "getbestblockhash":
		n.polls.Add(1)
		result = n.hash(n.height)
	case "getblockhash":
		var h uint64
		if len(q.Params) == 1 && json.Unmarshal(q.Params[0], &h) == nil && h <= n.height {
			result = n.hash(h)
		}
	}
	n.mu.Unlock()
	if result == nil {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]any{"id": q.ID, "result": nil, "error": RPCError{-32601, "Method not found"}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"id": q.ID, "result": result, "error": nil})
}

func (n *headsNode) serveWS(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	ws, down, notifyErr := n.ws, n.wsDown, n.notifyErr
	n.mu.Unlock()
	if down {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if !ws {
		// Core's: its JSON-RPC server is at / and /wallet/ only.
		http.NotFound(w, r)
		return
	}
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	n.wsConns.Add(1)
	var q struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if conn.ReadJSON(&q) != nil || q.Method != "notifyblocks" {
		return
	}
	n.mu.Lock()
	if notifyErr {
		err = conn.WriteJSON(map[string]any{"id": q.ID, "result": nil, "error": RPCError{-1, "notifications are off"}})
	} else {
		err = conn.WriteJSON(map[string]any{"id": q.ID, "result": nil, "error": nil})
		n.conns = append(n.conns, conn)
	}
	n.mu.Unlock()
	if err != nil {
		return
	}
	// Read until the client goes: this answers its pings too.
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			break
		}
	}
	n.mu.Lock()
	n.conns = slices.DeleteFunc(n.conns, func(c *websocket.Conn) bool { return c == conn })
	n.mu.Unlock()
}

// notify sends a notification to every subscriber, as btcd does.
func (n *headsNode) notify(method string, params ...any) {
	for _, c := range n.conns {
		c.WriteJSON(map[string]any{"jsonrpc": "1.0", "id": nil, "method": method, "params": params})
	}
}

// mine connects a block and returns its height.
func (n *headsNode) mine() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.height++
	n.notify("blockconnected", n.hash(n.height), n.height, time.Now().Unix())
	n.notify("filteredblockconnected", n.height, fmt.Sprintf("%0160x", n.height), []string{})
	return n.height
}

// reorg replaces the tip with a block of another branch.
func (n *headsNode) reorg() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notify("blockdisconnected", n.hash(n.height), n.height, time.Now().Unix())
	n.notify("filteredblockdisconnected", n.height, fmt.Sprintf("%0160x", n.height))
	n.branch++
	n.notify("blockconnected", n.hash(n.height), n.height, time.Now().Unix())
	n.notify("filteredblockconnected", n.height, fmt.Sprintf("%0160x", n.height), []string{})
	return n.height
}

// breakWS drops every WebSocket and refuses new ones, as a btcd going
// down does.
func (n *headsNode) breakWS() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.wsDown = true
	for _, c := range n.conns {
		c.Close()
	}
	n.conns = nil
}

func (n *headsNode) subscribers() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

func headsSource(t *testing.T, url string, cfg RPCConfig) *RPCSource {
	t.Helper()
	cfg.URL, cfg.User, cfg.Pass, cfg.Params = url, "user", "secret", &chaincfg.SimNetParams
	cfg.Retries = -1
	s, err := NewRPCSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// next is the next head announced, failing after within.
func next(t *testing.T, heads <-chan uint64, within time.Duration) uint64 {
	t.Helper()
	select {
	case h, ok := <-heads:
		if !ok {
			t.Fatal("the heads channel closed")
		}
		return h
	case <-time.After(within):
		t.Fatalf("no head announced within %s", within)
	}
	return 0
}

// quiet fails if a head is announced within d.
func quiet(t *testing.T, heads <-chan uint64, d time.Duration) {
	t.Helper()
	select {
	case h, ok := <-heads:
		t.Fatalf("announced %d (open %v), want nothing", h, ok)
	case <-time.After(d):
	}
}

// closes waits for the heads channel to close.
func closes(t *testing.T, heads <-chan uint64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-heads:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the heads channel stayed open")
		}
	}
}

// TestWatchHeadsWebSocket: from btcd, each block is announced once, from
// its notification, with no polling; a block that replaces the tip at
// the same height is announced again.
func TestWatchHeadsWebSocket(t *testing.T) {
	n := &headsNode{height: 10, ws: true}
	s := headsSource(t, n.serve(t), RPCConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads, err := s.WatchHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint64(11); want <= 13; want++ {
		if got := n.mine(); got != want {
			t.Fatalf("mined %d", got)
		}
		if h := next(t, heads, 5*time.Second); h != want {
			t.Fatalf("announced %d, want %d", h, want)
		}
	}
	if h := n.reorg(); next(t, heads, 5*time.Second) != h {
		t.Fatal("the reorganised tip was not announced")
	}
	// blockconnected and filteredblockconnected name the same block:
	// nothing more to announce.
	quiet(t, heads, 100*time.Millisecond)
	if p := n.polls.Load(); p != 0 {
		t.Errorf("%d polls beside the notifications", p)
	}
	cancel()
	closes(t, heads)
}

// TestWatchHeadsCore: a node without /ws (Bitcoin Core) is polled for
// its best block hash, and a new block is announced within the poll.
func TestWatchHeadsCore(t *testing.T) {
	n := &headsNode{height: 10}
	s := headsSource(t, n.serve(t), RPCConfig{HeadPoll: 5 * time.Millisecond})
	s.wsRetry = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads, err := s.WatchHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The head when subscribing is the reader's own look, not news.
	quiet(t, heads, 50*time.Millisecond)
	for range 3 {
		h := n.mine()
		if got := next(t, heads, 5*time.Second); got != h {
			t.Fatalf("announced %d, want %d", got, h)
		}
	}
	// Same height, another block: the hash changed, so it is news.
	h := n.reorg()
	if got := next(t, heads, 5*time.Second); got != h {
		t.Fatalf("announced %d after a reorganisation, want %d", got, h)
	}
	if n.polls.Load() < 5 {
		t.Errorf("%d polls", n.polls.Load())
	}
	// Core has no WebSocket, and will have none: asked once.
	if a := n.wsAsks.Load(); a != 1 {
		t.Errorf("/ws asked %d times, want once", a)
	}
	cancel()
	closes(t, heads)

	// Without the poll there is nothing to watch: the follower polls.
	off := headsSource(t, s.cfg.URL, RPCConfig{HeadPoll: -1})
	if heads, err := off.WatchHeads(context.Background()); !errors.Is(err, ErrNoSubscriptions) || heads != nil {
		t.Fatalf("without notifications or poll: %v", err)
	}
	// Nor with a WebSocket refused by btcd.
	n.mu.Lock()
	n.ws, n.notifyErr = true, true
	n.mu.Unlock()
	if _, err := off.WatchHeads(context.Background()); !errors.Is(err, ErrNoSubscriptions) {
		t.Fatalf("notifyblocks refused: %v", err)
	}
}

// TestWatchHeadsNoWebSocket: with NoWebSocket, btcd is polled too.
func TestWatchHeadsNoWebSocket(t *testing.T) {
	n := &headsNode{height: 3, ws: true}
	s := headsSource(t, n.serve(t), RPCConfig{NoWebSocket: true, HeadPoll: 5 * time.Millisecond})
	heads, err := s.WatchHeads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The first poll sees the head the reader looks at itself.
	for n.polls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	h := n.mine()
	if got := next(t, heads, 5*time.Second); got != h {
		t.Fatalf("announced %d, want %d", got, h)
	}
	if c := n.wsConns.Load(); c != 0 {
		t.Errorf("%d WebSocket connections", c)
	}
}

// TestWatchHeadsBreak: when btcd's WebSocket breaks, the watcher polls,
// announcing the head at once, then subscribes again when btcd is back
// and announces the head it finds.
func TestWatchHeadsBreak(t *testing.T) {
	n := &headsNode{height: 10, ws: true}
	var logged logBuffer
	s := headsSource(t, n.serve(t), RPCConfig{HeadPoll: 5 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	s.wsRetry = 50 * time.Millisecond
	heads, err := s.WatchHeads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h := n.mine(); next(t, heads, 5*time.Second) != h {
		t.Fatal("block 11 not announced")
	}
	// btcd goes down: a block it mined as it went is announced by the
	// first poll.
	n.breakWS()
	n.mu.Lock()
	n.height++
	n.mu.Unlock()
	if h := next(t, heads, 5*time.Second); h != 12 {
		t.Fatalf("announced %d after the break, want 12", h)
	}
	if h := n.mine(); next(t, heads, 5*time.Second) != h {
		t.Fatal("block 13 not announced by the poll")
	}
	// While btcd is down the watcher tries the WebSocket again, and
	// again; then btcd is back and it subscribes again.
	asks := n.wsAsks.Load()
	for deadline := time.Now().Add(10 * time.Second); n.wsAsks.Load() < asks+2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the WebSocket was not tried again")
		}
	}
	// Nothing new meanwhile, nothing announced.
	quiet(t, heads, 20*time.Millisecond)
	n.mu.Lock()
	n.wsDown = false
	n.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); n.subscribers() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no new subscription")
		}
	}
	if h := next(t, heads, 5*time.Second); h != 13 {
		t.Fatalf("announced %d on subscribing again, want 13", h)
	}
	polls := n.polls.Load()
	if h := n.mine(); next(t, heads, 5*time.Second) != h {
		t.Fatal("block 14 not announced")
	}
	time.Sleep(50 * time.Millisecond)
	if p := n.polls.Load(); p != polls {
		t.Errorf("%d polls after subscribing again", p-polls)
	}
	// The operator hears of each switch.
	log := logged.String()
	for _, want := range []string{"btcd block notifications", "notifications broke; polling", "notifications again"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWatchHeadsBreakNoPoll: without the poll, a broken WebSocket closes
// the channel, for the follower to subscribe again or poll.
func TestWatchHeadsBreakNoPoll(t *testing.T) {
	n := &headsNode{height: 10, ws: true}
	s := headsSource(t, n.serve(t), RPCConfig{HeadPoll: -1})
	heads, err := s.WatchHeads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h := n.mine(); next(t, heads, 5*time.Second) != h {
		t.Fatal("block not announced")
	}
	n.breakWS()
	closes(t, heads)
}

// TestWatchHeadsAuth: the WebSocket carries the credentials; a wrong
// password is refused there as over POST.
func TestWatchHeadsAuth(t *testing.T) {
	n := &headsNode{height: 1, ws: true}
	url := n.serve(t)
	s := headsSource(t, url, RPCConfig{HeadPoll: -1})
	if _, err := s.subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := headsSource(t, url, RPCConfig{HeadPoll: -1})
	bad.cfg.Pass = "wrong"
	bad.checked = true
	if _, err := bad.subscribe(t.Context()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestWSURL: the WebSocket is /ws on the RPC address, ws or wss as the
// RPC is http or https, without the RPC URL's path or credentials.
func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:18556":                   "ws://127.0.0.1:18556/ws",
		"http://u:p@node:8334/":             "ws://node:8334/ws",
		"https://node:8334/wallet/x?y=1":    "wss://node:8334/ws",
		"https://[::1]:8334":                "wss://[::1]:8334/ws",
		"http://node.example.org:1234/path": "ws://node.example.org:1234/ws",
	} {
		s, err := NewRPCSource(RPCConfig{URL: in, Params: &chaincfg.SimNetParams})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.wsURL(); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
}

// TestWatchHeadsTLS: btcd serves its RPC, /ws included, over TLS with its
// own certificate: the WebSocket trusts CAFile as the requests do, and
// no other certificate.
func TestWatchHeadsTLS(t *testing.T) {
	n := &headsNode{height: 4, ws: true}
	srv := httptest.NewTLSServer(n)
	t.Cleanup(srv.Close)
	t.Cleanup(n.breakWS)
	ca := filepath.Join(t.TempDir(), "rpc.cert")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	s := headsSource(t, srv.URL, RPCConfig{CAFile: ca, HeadPoll: -1})
	heads, err := s.WatchHeads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h := n.mine(); next(t, heads, 5*time.Second) != h {
		t.Fatal("block not announced over wss")
	}
	untrusted := headsSource(t, srv.URL, RPCConfig{HeadPoll: -1})
	untrusted.checked = true
	if _, err := untrusted.subscribe(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
