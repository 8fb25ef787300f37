package taxii

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// PollerConfig sets up a Poller.
type PollerConfig struct {
	Client *Client
	// Peer names the partner in cursors and logs.
	Peer       string
	Collection string
	Cursors    CursorStore
	// Handle receives the new objects in order, a chunk at a time, while
	// the rest of the page is still arriving: it runs on its own
	// goroutine, beside the decoding of the next chunk. The cursor moves
	// past a page only once Handle has returned nil for every chunk of
	// it, so a failure or a restart hands the page over again: Handle
	// should be idempotent (it is when it stores by id and version).
	Handle func(ctx context.Context, objs []Object) error
	// Flush, if set, ends each page: complete when Handle took every
	// chunk of it and the answer ended well, so that a handler may
	// gather a page's chunks (checking each as it arrives) and act on
	// the page at once; not complete when the page failed, to discard
	// what was gathered. A complete page's work may go on after Flush
	// returns, as long as Flush has taken what Handle gathered: the
	// poller then asks for the next page, whose chunks Handle takes
	// meanwhile, and calls wait, if not nil, before it flushes the next
	// page or ends the pass. The cursor moves past a page only once
	// Flush returned no error and wait returned nil.
	Flush func(ctx context.Context, complete bool) (wait func() error, err error)
	// Interval is the wait between passes (default 5 minutes).
	Interval time.Duration
	// PageSize is the limit asked for (default DefaultMaxPageSize; the
	// partner may send fewer). Large pages take a large report in one
	// request.
	PageSize int
	// Chunk is the most objects handed to Handle at once (default
	// DefaultStreamChunk).
	Chunk int
	// MinBackoff and MaxBackoff bound the wait after a failed pass
	// (defaults 1 second and 5 minutes); it doubles with each failure.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

// Poller pulls a partner's collection.
type Poller struct {
	cfg PollerConfig
	log *slog.Logger
}

// NewPoller returns a poller over cfg.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("poller: a client is required")
	case cfg.Peer == "" || cfg.Collection == "":
		return nil, errors.New("poller: a peer and a collection are required")
	case cfg.Cursors == nil:
		return nil, errors.New("poller: a cursor store is required")
	case cfg.Handle == nil:
		return nil, errors.New("poller: a handler is required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultMaxPageSize
	}
	if cfg.Chunk <= 0 {
		cfg.Chunk = DefaultStreamChunk
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(cfg.MinBackoff, 5*time.Minute)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("peer", cfg.Peer, "collection", cfg.Collection)
	return &Poller{cfg: cfg, log: log}, nil
}

// Run polls every Interval until ctx ends, retrying a failed pass with
// backoff; the cursor stays where the last handed-over page left it.
func (p *Poller) Run(ctx context.Context) error {
	backoff := p.cfg.MinBackoff
	for {
		n, err := p.Poll(ctx)
		wait := p.cfg.Interval
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			p.log.WarnContext(ctx, "taxii poll failed", "err", err, "objects", n, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, p.cfg.MaxBackoff)
		default:
			p.log.DebugContext(ctx, "taxii poll", "objects", n)
			backoff = p.cfg.MinBackoff
		}
		// Jitter keeps nodes that failed together from retrying together.
		wait += rand.N(wait/10 + 1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll makes one pass: it pulls pages until the partner has no more and
// returns how many objects it handed over.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	cur, err := p.cfg.Cursors.TAXIICursor(ctx, p.cfg.Peer, p.cfg.Collection)
	if err != nil {
		return 0, fmt.Errorf("poll %s/%s: read cursor: %w", p.cfg.Peer, p.cfg.Collection, err)
	}
	// The page whose flush may still be at work, and the cursor past it
	// if it moves.
	var wait func() error
	var done *Cursor
	settle := func() error {
		if wait == nil {
			return nil
		}
		w, c := wait, done
		wait, done = nil, nil
		if err := w(); err != nil {
			return fmt.Errorf("poll %s/%s: flush: %w", p.cfg.Peer, p.cfg.Collection, err)
		}
		if c == nil {
			return nil
		}
		return p.putCursor(ctx, *c)
	}
	total := 0
	for {
		q := Query{AddedAfter: cur.AddedAfter, Limit: p.cfg.PageSize, Next: cur.Next}
		res, n, err := p.page(ctx, q)
		total += n
		if serr := settle(); serr != nil {
			p.flush(ctx, false)
			return total, serr
		}
		if err != nil && cur.Next != "" && StatusCode(err) == http.StatusBadRequest {
			// The partner no longer knows its token: resume after the
			// last object handed over instead.
			p.flush(ctx, false)
			p.log.InfoContext(ctx, "taxii next token refused, resuming from date_added", "last", cur.Last)
			cur = Cursor{AddedAfter: cur.Last, Last: cur.Last}
			continue
		}
		if err != nil {
			p.flush(ctx, false)
			return total, fmt.Errorf("poll %s/%s: %w", p.cfg.Peer, p.cfg.Collection, err)
		}
		if wait, err = p.flush(ctx, true); err != nil {
			return total, fmt.Errorf("poll %s/%s: flush %d objects: %w", p.cfg.Peer, p.cfg.Collection, n, err)
		}
		next := cur
		if res.DateAddedLast.After(next.Last) {
			next.Last = res.DateAddedLast
		}
		switch {
		case res.More && res.Next != "":
			// Within a pass the query stays as it began, as TAXII asks.
			next.Next = res.Next
		case res.More && !res.DateAddedLast.IsZero():
			// More without a token: page by date_added.
			next = Cursor{AddedAfter: next.Last, Last: next.Last}
		default:
			// The pass is over: the next one starts after the newest
			// object seen.
			next = Cursor{AddedAfter: next.Last, Last: next.Last}
		}
		if !next.equal(cur) {
			done = &next
		}
		if !res.More {
			return total, settle()
		}
		if next.equal(cur) {
			// More, but neither a token nor a date to go on: stop rather
			// than ask for the same page forever.
			if err := settle(); err != nil {
				return total, err
			}
			return total, fmt.Errorf("poll %s/%s: the partner says there is more but gives no way to page", p.cfg.Peer, p.cfg.Collection)
		}
		cur = next
	}
}

// flush ends a page through Flush, if set: a wait that always succeeds
// when there is none.
func (p *Poller) flush(ctx context.Context, complete bool) (func() error, error) {
	if p.cfg.Flush == nil {
		return func() error { return nil }, nil
	}
	wait, err := p.cfg.Flush(ctx, complete)
	if err == nil && wait == nil {
		wait = func() error { return nil }
	}
	return wait, err
}

// putCursor stores the cursor past a page handed over.
func (p *Poller) putCursor(ctx context.Context, c Cursor) error {
	if err := p.cfg.Cursors.PutTAXIICursor(ctx, p.cfg.Peer, p.cfg.Collection, c); err != nil {
		return fmt.Errorf("poll %s/%s: store cursor: %w", p.cfg.Peer, p.cfg.Collection, err)
	}
	return nil
}

// page fetches one page, decoding it as it arrives and handing its
// chunks to Handle on another goroutine, and returns the page's result
// and how many objects Handle took.
func (p *Poller) page(ctx context.Context, q Query) (Result, int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []Object, 2)
	handled := 0
	done := make(chan error, 1)
	go func() {
		var err error
		for c := range chunks {
			if err != nil {
				continue
			}
			if err = p.cfg.Handle(ctx, c); err != nil {
				err = fmt.Errorf("handle %d objects: %w", len(c), err)
				cancel()
				continue
			}
			handled += len(c)
		}
		done <- err
	}()
	res, err := p.cfg.Client.ObjectsStream(ctx, p.cfg.Collection, q, p.cfg.Chunk, func(c []Object) error {
		select {
		case chunks <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(chunks)
	if herr := <-done; herr != nil {
		// The stream stopped because Handle failed: that is the cause.
		return res, handled, herr
	}
	return res, handled, err
}

func (c Cursor) equal(d Cursor) bool {
	return c.AddedAfter.Equal(d.AddedAfter) && c.Next == d.Next && c.Last.Equal(d.Last)
}
