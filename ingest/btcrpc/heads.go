package btcrpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultHeadPoll is RPCConfig.HeadPoll's default. A getbestblockhash
// is one small request, and a follower hears of a block within this.
const DefaultHeadPoll = 250 * time.Millisecond

// ErrNoSubscriptions is WatchHeads' error for a node that sends no
// block notifications when RPCConfig.HeadPoll is negative.
var ErrNoSubscriptions = errors.New("the node sends no block notifications")

// errNoWebSocket is a node that answered the WebSocket handshake with
// "not found" or "method not allowed": it has none (Bitcoin Core), and
// asking again would be answered the same.
var errNoWebSocket = errors.New("the node serves no WebSocket")

const (
	// subscribeTimeout bounds the WebSocket handshake and notifyblocks'
	// answer, and each request of the head poll.
	subscribeTimeout = 10 * time.Second
	// btcd sends nothing between blocks, and a connection can die
	// without a word (a NAT, a suspended host): ping it, and give up on
	// it when neither a pong nor a notification came for wsReadTimeout.
	wsPing        = 30 * time.Second
	wsReadTimeout = 75 * time.Second
)

// WatchHeads sends the height of each new block the node connects, until
// ctx ends; it implements ingest.HeadWatcher.
//
// From btcd it hears of blocks on its WebSocket endpoint (/ws on the RPC
// address, with the same credentials and certificate) through
// notifyblocks' blockconnected notifications, the moment btcd connects
// them. From a node without one (Bitcoin Core answers /ws with HTTP
// 404), or with RPCConfig.NoWebSocket, it asks for the best block hash
// every RPCConfig.HeadPoll. If the WebSocket breaks or cannot be opened
// (btcd restarts), WatchHeads polls, tries the WebSocket again every
// minute, and announces the head on every switch so that no block is
// missed in between. With a negative HeadPoll there is no poll: an error
// wrapping ErrNoSubscriptions if the node sends no notifications, and a
// channel that closes when they break. A reader that falls behind gets
// the latest head, not every one.
func (s *RPCSource) WatchHeads(ctx context.Context) (<-chan uint64, error) {
	if err := s.checkNetwork(ctx); err != nil {
		return nil, err
	}
	var conn *websocket.Conn
	wsErr := errors.New("WebSocket notifications turned off")
	if !s.cfg.NoWebSocket {
		conn, wsErr = s.subscribe(ctx)
	}
	if conn == nil && s.cfg.HeadPoll < 0 {
		return nil, fmt.Errorf("btc rpc %s: %w (%v)", s.url, ErrNoSubscriptions, wsErr)
	}
	if conn != nil {
		s.cfg.Log.Info("btc heads: btcd block notifications", "source", s.ID())
	} else {
		s.cfg.Log.Info("btc heads: no block notifications; polling the best block hash", "source", s.ID(), "every", s.cfg.HeadPoll.String(), "reason", wsErr)
	}
	out := make(chan uint64, 1)
	go s.watch(ctx, conn, !s.cfg.NoWebSocket && !errors.Is(wsErr, errNoWebSocket), out)
	return out, nil
}

// watch feeds out from the WebSocket while it lasts and from the poll
// otherwise, until ctx ends. With retryWS, a WebSocket that failed is
// tried again every wsRetry.
func (s *RPCSource) watch(ctx context.Context, conn *websocket.Conn, retryWS bool, out chan uint64) {
	defer close(out)
	// The poll's last best block hash. Its first answer announces
	// nothing, for the reader looks at the head as it subscribes; after
	// the WebSocket it announces what it finds.
	last, announce := "", false
	for ctx.Err() == nil {
		if conn != nil {
			s.readHeads(ctx, conn, out)
			conn = nil
			if s.cfg.HeadPoll < 0 || ctx.Err() != nil {
				return
			}
			s.cfg.Log.Warn("btc heads: block notifications broke; polling the best block hash", "source", s.ID(), "every", s.cfg.HeadPoll.String())
			last, announce = "", true
		}
		retry := time.Time{} // never
		if retryWS {
			retry = time.Now().Add(s.wsRetry)
		}
		last = s.pollHeads(ctx, out, retry, last, announce)
		if ctx.Err() != nil {
			return
		}
		c, err := s.subscribe(ctx)
		if err == nil {
			conn = c
			s.cfg.Log.Info("btc heads: btcd block notifications again", "source", s.ID())
			// A block may have come between the last poll and the
			// subscription.
			if h, err := s.headOnce(ctx); err == nil {
				send(out, h)
			}
		}
		retryWS = !errors.Is(err, errNoWebSocket)
	}
}

// send replaces a pending head with h: one pending head wakes the reader,
// which asks for the head anyway.
func send(out chan uint64, h uint64) {
	select {
	case <-out:
	default:
	}
	out <- h
}

// wsURL is the node's WebSocket endpoint: btcd serves it at /ws on its
// RPC address.
func (s *RPCSource) wsURL() (string, error) {
	u, err := url.Parse(s.url)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	u.Path, u.RawPath, u.RawQuery, u.User = "/ws", "", "", nil
	return u.String(), nil
}

// subscribe opens the WebSocket and asks for block notifications.
func (s *RPCSource) subscribe(ctx context.Context) (*websocket.Conn, error) {
	endpoint, err := s.wsURL()
	if err != nil {
		return nil, fmt.Errorf("btc rpc %s: websocket: %w", s.url, err)
	}
	user, pass, err := s.credentials()
	if err != nil {
		return nil, fmt.Errorf("btc rpc %s: websocket: %w", s.url, err)
	}
	hdr := http.Header{}
	if user != "" || pass != "" {
		// btcd checks the upgrade request's credentials as it does a
		// POST's.
		hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	d := websocket.Dialer{HandshakeTimeout: subscribeTimeout, TLSClientConfig: s.tls, Proxy: http.ProxyFromEnvironment}
	dctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	conn, resp, err := d.DialContext(dctx, endpoint, hdr)
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
				// Core: 404, its JSON-RPC server is at / and /wallet/.
				return nil, fmt.Errorf("btc rpc %s: websocket: HTTP %s: %w", s.url, resp.Status, errNoWebSocket)
			}
			return nil, fmt.Errorf("btc rpc %s: websocket: HTTP %s", s.url, resp.Status)
		}
		return nil, fmt.Errorf("btc rpc %s: websocket: %w", s.url, err)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	fail := func(err error) (*websocket.Conn, error) {
		conn.Close()
		return nil, fmt.Errorf("btc rpc %s: websocket notifyblocks: %w", s.url, err)
	}
	const id = 1
	conn.SetWriteDeadline(time.Now().Add(subscribeTimeout))
	if err := conn.WriteJSON(request{JSONRPC: "1.0", ID: id, Method: "notifyblocks", Params: []any{}}); err != nil {
		return fail(err)
	}
	conn.SetReadDeadline(time.Now().Add(subscribeTimeout))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return fail(err)
		}
		var r struct {
			ID     *uint64   `json:"id"`
			Method string    `json:"method"`
			Error  *RPCError `json:"error"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fail(fmt.Errorf("decode answer: %w", err))
		}
		if r.Method != "" || r.ID == nil || *r.ID != id {
			continue // not the answer
		}
		if r.Error != nil {
			return fail(r.Error)
		}
		break
	}
	if !stop() {
		// ctx ended as the answer came, and the connection is closed.
		return nil, fmt.Errorf("btc rpc %s: websocket notifyblocks: %w", s.url, dctx.Err())
	}
	conn.SetReadDeadline(time.Time{})
	return conn, nil
}

// notification is a JSON-RPC notification from btcd.
type notification struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// height is the height a block notification names, and whether it names
// one: blockconnected's second parameter, filteredblockconnected's first.
func (n *notification) height() (uint64, bool) {
	i := -1
	switch n.Method {
	case "blockconnected":
		i = 1
	case "filteredblockconnected":
		i = 0
	}
	if i < 0 || len(n.Params) <= i {
		return 0, false
	}
	var h uint64
	if err := json.Unmarshal(n.Params[i], &h); err != nil {
		return 0, false
	}
	return h, true
}

// readHeads announces the blocks the WebSocket notifies until it breaks or
// ctx ends, and closes it.
func (s *RPCSource) readHeads(ctx context.Context, conn *websocket.Conn, out chan uint64) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	done := make(chan struct{})
	defer close(done)
	alive := func() { conn.SetReadDeadline(time.Now().Add(wsReadTimeout)) }
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })
	go func() {
		t := time.NewTicker(wsPing)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// WriteControl may run beside the reads.
				if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(subscribeTimeout)) != nil {
					return
				}
			}
		}
	}()
	// btcd sends blockconnected and filteredblockconnected for each
	// block: announce a height once, unless a block was disconnected
	// since (a reorganisation replaces blocks at the same heights).
	var last uint64
	announced, disconnected := false, false
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		alive()
		var n notification
		if json.Unmarshal(data, &n) != nil {
			continue
		}
		if n.Method == "blockdisconnected" || n.Method == "filteredblockdisconnected" {
			disconnected = true
			continue
		}
		h, ok := n.height()
		if !ok || (announced && h == last && !disconnected) {
			continue
		}
		send(out, h)
		last, announced, disconnected = h, true, false
	}
}

// pollHeads asks for the best block hash every HeadPoll and announces
// the head when it differs from last (on the first answer too only if
// last is empty and announce is set), until ctx ends or, unless it is
// zero, until is past. It returns the last hash it saw.
func (s *RPCSource) pollHeads(ctx context.Context, out chan uint64, until time.Time, last string, announce bool) string {
	t := time.NewTicker(s.cfg.HeadPoll)
	defer t.Stop()
	for {
		var best string
		if err := s.callOnce(ctx, "getbestblockhash", &best); err == nil && best != last {
			if last == "" && !announce {
				last = best
			} else if h, err := s.headOnce(ctx); err == nil {
				send(out, h)
				last = best
			}
		}
		// A node that does not answer is the reader's to report: its
		// own requests fail. Keep asking.
		select {
		case <-ctx.Done():
			return last
		case <-t.C:
		}
		if !until.IsZero() && time.Now().After(until) {
			return last
		}
	}
}

// headOnce is getblockcount without retries.
func (s *RPCSource) headOnce(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.callOnce(ctx, "getblockcount", &n)
	return n, err
}

// callOnce sends one request, with no retries and a short timeout: the
// poll asks again soon anyway.
func (s *RPCSource) callOnce(ctx context.Context, method string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	s.mu.Lock()
	s.nextID++
	reqs := []request{{JSONRPC: "1.0", ID: s.nextID, Method: method, Params: []any{}}}
	s.mu.Unlock()
	body, err := json.Marshal(reqs[0])
	if err != nil {
		return err
	}
	resps, err := s.post(ctx, body, reqs)
	if err != nil {
		return err
	}
	return resps[0].decode(v)
}
