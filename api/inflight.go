package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tracehound/tracehound/auth"
)

// inflightWait is how long a request waits for room among the bytes in
// flight before it is answered 503.
const inflightWait = 5 * time.Second

// inflight bounds the request bytes held at once: in all, and per key,
// so that one key's slow or large bodies cannot hold every other
// partner's batches back.
type inflight struct {
	all    *semaphore.Weighted
	perKey int64
	mu     sync.Mutex
	keys   map[string]*keyShare
}

// keyShare is one key's part of the budget, dropped once unused.
type keyShare struct {
	sem  *semaphore.Weighted
	refs int
}

func newInflight(budget int64) *inflight {
	// A key holds at most half the budget: room for one request of the
	// largest body (MaxBody is half the default budget) while the other
	// half stays for everyone else.
	return &inflight{all: semaphore.NewWeighted(budget), perKey: max(budget/2, 1), keys: make(map[string]*keyShare)}
}

func (f *inflight) share(key string) (*keyShare, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.keys[key]
	if s == nil {
		s = &keyShare{sem: semaphore.NewWeighted(f.perKey)}
		f.keys[key] = s
	}
	s.refs++
	return s, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if s.refs--; s.refs == 0 {
			delete(f.keys, key)
		}
	}
}

// reserve holds room for the request's body among the bytes all
// requests may hold at once (Config.MaxInFlight), and among its key's
// share: its Content-Length, or MaxBody when it does not say. It answers
// 503 with Retry-After and returns false when no room comes in time.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	n := r.ContentLength
	if n < 0 || n > s.cfg.MaxBody {
		n = s.cfg.MaxBody
	}
	n = min(max(n, 1), s.cfg.MaxInFlight)
	ctx, cancel := context.WithTimeout(r.Context(), inflightWait)
	defer cancel()
	key := ""
	if k := auth.KeyFrom(r.Context()); k != nil {
		key = k.ID
	}
	share, drop := s.inflight.share(key)
	kn := min(n, s.inflight.perKey)
	if err := share.sem.Acquire(ctx, kn); err != nil {
		drop()
		s.busy(w, r)
		return nil, false
	}
	if err := s.inflight.all.Acquire(ctx, n); err != nil {
		share.sem.Release(kn)
		drop()
		s.busy(w, r)
		return nil, false
	}
	return func() {
		s.inflight.all.Release(n)
		share.sem.Release(kn)
		drop()
	}, true
}

func (s *Server) busy(w http.ResponseWriter, r *http.Request) {
	s.metrics.busy.Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(inflightWait/time.Second)))
	writeError(w, r, http.StatusServiceUnavailable, "busy", "the server is at its limit of request bytes in flight; retry shortly")
}

// withBody reserves room for a request's body before h reads it, for
// the routes of other domains (TAXII's POST of objects) that decode
// whole bodies into memory.
func (s *Server) withBody(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h(w, r)
			return
		}
		release, ok := s.reserve(w, r)
		if !ok {
			return
		}
		defer release()
		h(w, r)
	}
}

// sampler lets through the first few events of each second, so that a
// flood of refused requests costs the log a few lines a second, the
// metrics counting every one.
type sampler struct {
	per    int64
	second atomic.Int64
	n      atomic.Int64
}

func (p *sampler) allow(now time.Time) bool {
	sec := now.Unix()
	if old := p.second.Load(); old != sec && p.second.CompareAndSwap(old, sec) {
		p.n.Store(0)
	}
	return p.n.Add(1) <= p.per
}
