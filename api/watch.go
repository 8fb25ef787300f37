package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

// Watches are live traces: saved with POST /v1/watches, rerun by the
// server as it ingests blocks, and raising alerts (GET /v1/alerts, see
// alerts.go) when
// the funds reach a service they had not reached, or more arrive there.
// They belong to the node, not to a key: every investigator with the
// trace role sees them, and every change is audited under its key.

// WatchRequest is the body of POST /v1/watches: a trace request and a
// name, which is the watch's id.
type WatchRequest struct {
	Name string `json:"name"`
	trace.Spec
	// Share, if set, publishes the deposit addresses the watch's alerts
	// find as STIX indicators in one of the node's TAXII collections.
	Share *ShareRequest `json:"share,omitempty"`
}

// ShareRequest marks a watch to share its alerts as intelligence.
type ShareRequest struct {
	// Collection is the node's own TAXII collection to publish into.
	Collection string `json:"collection"`
	// TLP marks what is published: clear, green, amber (the default) or
	// amber+strict; red is refused, since it never leaves the node.
	TLP string `json:"tlp,omitempty"`
}

// Watcher keeps watches and their alerts. Its methods read the acting
// key with auth.KeyFrom for the audit trail.
type Watcher interface {
	// AddWatch saves a watch and returns it with the endpoints its trace
	// reaches now. Mistakes in the request are InputErrors; a name in use
	// is a ConflictError.
	AddWatch(ctx context.Context, name string, req trace.Request, share *watch.Share) (watch.Watch, []watch.Alert, error)
	Watches(ctx context.Context) ([]watch.Watch, error)
	// Watch returns a watch and its alerts; false if there is none.
	Watch(ctx context.Context, name string) (watch.Watch, []watch.Alert, bool, error)
	DeleteWatch(ctx context.Context, name string) (bool, error)
	Alerts(ctx context.Context, q watch.AlertQuery) ([]watch.Alert, error)
}

// ConflictError is a request that clashes with what exists: answered
// with 409.
type ConflictError struct{ Err error }

func (e *ConflictError) Error() string { return e.Err.Error() }
func (e *ConflictError) Unwrap() error { return e.Err }

// Alert page sizes.
const (
	defaultAlertLimit = 1000
	maxAlertLimit     = 10_000
)

// watchView is a watch with its alerts, as GET /v1/watches/{id} shows it.
type watchView struct {
	watch.Watch
	Alerts []watch.Alert `json:"alerts"`
}

func (s *Server) addWatch(w http.ResponseWriter, r *http.Request) {
	var req WatchRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "watch request: "+err.Error())
		return
	}
	tr, err := s.readTrace(req.Spec)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "watch request: "+err.Error())
		return
	}
	var share *watch.Share
	if req.Share != nil {
		level := intel.TLPAmber
		if req.Share.TLP != "" {
			if level, err = intel.ParseTLP(req.Share.TLP); err != nil {
				writeError(w, r, http.StatusBadRequest, "bad_request", "watch request: share: "+err.Error())
				return
			}
		}
		share = &watch.Share{Collection: req.Share.Collection, TLP: level}
	}
	// The alerts of the endpoints reached now are the watch's starting
	// point, read with GET /v1/watches/{id}.
	wt, _, err := s.cfg.Watcher.AddWatch(r.Context(), req.Name, tr, share)
	var ie *InputError
	var ce *ConflictError
	switch {
	case errors.As(err, &ie):
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case errors.As(err, &ce):
		writeError(w, r, http.StatusConflict, "conflict", err.Error())
	case err != nil:
		writeError(w, r, http.StatusUnprocessableEntity, "trace_failed", err.Error())
	default:
		w.Header().Set("Location", "/v1/watches/"+wt.Name)
		writeJSON(w, http.StatusCreated, watchView{Watch: wt, Alerts: []watch.Alert{}})
	}
}

func (s *Server) listWatches(w http.ResponseWriter, r *http.Request) {
	ws, err := s.cfg.Watcher.Watches(r.Context())
	if err != nil {
		s.internalError(w, r, "list watches", err)
		return
	}
	if ws == nil {
		ws = []watch.Watch{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"watches": ws})
}

func (s *Server) getWatch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("id")
	wt, alerts, ok, err := s.cfg.Watcher.Watch(r.Context(), name)
	switch {
	case err != nil:
		s.internalError(w, r, "read watch", err)
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "no watch "+name)
	default:
		if alerts == nil {
			alerts = []watch.Alert{}
		}
		writeJSON(w, http.StatusOK, watchView{Watch: wt, Alerts: alerts})
	}
}

func (s *Server) deleteWatch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("id")
	ok, err := s.cfg.Watcher.DeleteWatch(r.Context(), name)
	switch {
	case err != nil:
		s.internalError(w, r, "delete watch", err)
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "no watch "+name)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// internalError logs a failure the client cannot act on and answers 500
// without its details.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what, "err", err, "request_id", w.Header().Get("X-Request-Id"))
	writeError(w, r, http.StatusInternalServerError, "internal", what+" failed")
}
