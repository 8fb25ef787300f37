package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/trace"
)

// Long traces run as jobs: POST /v1/traces?async=true answers 202 with a
// job id at once, and GET /v1/traces/jobs/{id} reports progress and, when
// done, the result. Jobs live in memory for an hour after they finish and
// are visible only to the key that started them.

// JobProgress is what a running trace reports.
type JobProgress struct {
	Tainted int `json:"addresses_tainted"`
	Queued  int `json:"addresses_queued"`
}

type progressKey struct{}

// ProgressFrom returns the function a Tracer should report progress to,
// or nil.
func ProgressFrom(ctx context.Context) func(JobProgress) {
	f, _ := ctx.Value(progressKey{}).(func(JobProgress))
	return f
}

type job struct {
	ID       string      `json:"id"`
	State    string      `json:"state"` // running, done, failed
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished,omitzero"`
	Progress JobProgress `json:"progress"`
	Result   any         `json:"result,omitempty"`
	Error    string      `json:"error,omitempty"`
	owner    string
	cancel   context.CancelFunc
}

type jobs struct {
	mu   sync.Mutex
	byID map[string]*job
}

const jobTTL = time.Hour

func (s *Server) startTraceJob(w http.ResponseWriter, r *http.Request, req trace.Request) {
	b := make([]byte, 12)
	rand.Read(b)
	owner := ""
	if k := auth.KeyFrom(r.Context()); k != nil {
		owner = k.ID
	}
	// The job outlives the request, but keeps its key for auditing.
	ctx, cancel := context.WithCancel(auth.WithKey(context.Background(), auth.KeyFrom(r.Context())))
	j := &job{ID: hex.EncodeToString(b), State: "running", Started: time.Now().UTC(), owner: owner, cancel: cancel}
	s.jobs.mu.Lock()
	if s.jobs.byID == nil {
		s.jobs.byID = make(map[string]*job)
	}
	for id, old := range s.jobs.byID {
		if !old.Finished.IsZero() && time.Since(old.Finished) > jobTTL {
			delete(s.jobs.byID, id)
		}
	}
	s.jobs.byID[j.ID] = j
	s.jobs.mu.Unlock()
	ctx = context.WithValue(ctx, progressKey{}, func(p JobProgress) {
		s.jobs.mu.Lock()
		j.Progress = p
		s.jobs.mu.Unlock()
	})
	go func() {
		defer cancel()
		res, err := s.trace(ctx, req)
		s.jobs.mu.Lock()
		defer s.jobs.mu.Unlock()
		j.Finished = time.Now().UTC()
		if err != nil {
			j.State, j.Error = "failed", err.Error()
			return
		}
		j.State, j.Result = "done", res
	}()
	w.Header().Set("Location", "/v1/traces/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID, "state": "running", "status_url": "/v1/traces/jobs/" + j.ID})
}

func (s *Server) traceJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.jobs.mu.Lock()
	j, ok := s.jobs.byID[id]
	var snapshot job
	if ok {
		snapshot = *j
	}
	s.jobs.mu.Unlock()
	k := auth.KeyFrom(r.Context())
	if !ok || k == nil || snapshot.owner != k.ID {
		writeError(w, r, http.StatusNotFound, "not_found", "no trace job "+id)
		return
	}
	if r.Method == http.MethodDelete {
		snapshot.cancel()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, snapshot)
}
