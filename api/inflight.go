package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/semaphore"
)

// inflightWait is how long a request waits for room among the bytes in
// flight before it is answered 503.
const inflightWait = 5 * time.Second

// reserve holds room for the request's body among the bytes all
// requests may hold at once (Config.MaxInFlight): its Content-Length, or
// MaxBody when it does not say. It answers 503 with Retry-After and
// returns false when no room comes in time.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	n := r.ContentLength
	if n < 0 || n > s.cfg.MaxBody {
		n = s.cfg.MaxBody
	}
	n = min(max(n, 1), s.cfg.MaxInFlight)
	ctx, cancel := context.WithTimeout(r.Context(), inflightWait)
	defer cancel()
	if err := s.inflight.Acquire(ctx, n); err != nil {
		s.metrics.busy.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(inflightWait/time.Second)))
		writeError(w, r, http.StatusServiceUnavailable, "busy", "the server is at its limit of request bytes in flight; retry shortly")
		return nil, false
	}
	return func() { s.inflight.Release(n) }, true
}

func newInflight(max int64) *semaphore.Weighted { return semaphore.NewWeighted(max) }
