package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// Tracer runs traces. Mistakes in a request are InputErrors.
type Tracer interface {
	Trace(ctx context.Context, req trace.Request) (*trace.Result, error)
	TraceBack(ctx context.Context, req trace.Request) (*trace.BackResult, error)
	// TraceResult returns a recent result by its id.
	TraceResult(ctx context.Context, id string) (*trace.Result, bool)
	// Freeze returns the freeze requests of a recent trace, one per
	// exchange it reached, audited.
	Freeze(ctx context.Context, id, caseRef string) ([]report.Request, error)
}

// InputError is a caller's mistake in a request: answered with 400 and
// its message.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// readTrace reads a trace request's text form (the body of POST
// /v1/traces, a watch's trace) into its typed form.
func (s *Server) readTrace(spec trace.Spec) (trace.Request, error) {
	if len(spec.Seeds) == 0 || len(spec.Seeds) > 10_000 {
		return trace.Request{}, &InputError{Err: errors.New("give 1 to 10,000 seeds")}
	}
	req, err := spec.Request(s.cfg.Parser, registry.Lookup)
	if err != nil {
		return trace.Request{}, &InputError{Err: err}
	}
	return req, nil
}

func (s *Server) runTrace(w http.ResponseWriter, r *http.Request) {
	var spec trace.Spec
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: "+err.Error())
		return
	}
	req, err := s.readTrace(spec)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: "+err.Error())
		return
	}
	if r.URL.Query().Get("async") == "true" {
		s.startTraceJob(w, r, req)
		return
	}
	res, err := s.trace(r.Context(), req)
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		writeError(w, r, http.StatusUnprocessableEntity, "trace_failed", err.Error())
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// trace runs req forward or backward.
func (s *Server) trace(ctx context.Context, req trace.Request) (any, error) {
	if req.Backward {
		return s.cfg.Tracer.TraceBack(ctx, req)
	}
	return s.cfg.Tracer.Trace(ctx, req)
}

// tracePart answers GET /v1/traces/{id}/{part}.
func (s *Server) tracePart(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("part") {
	case "freeze":
		s.freeze(w, r)
	default:
		writeError(w, r, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

// freeze answers GET /v1/traces/{id}/freeze?case=REF: the freeze requests
// of a recent trace, as JSON; with exchange=ENTITY_ID and format=csv or
// html, that exchange's request as a file to send.
func (s *Server) freeze(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reqs, err := s.cfg.Tracer.Freeze(r.Context(), r.PathValue("id"), q.Get("case"))
	if err != nil {
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
		return
	}
	format := q.Get("format")
	if format == "" || format == "json" {
		if reqs == nil {
			reqs = []report.Request{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
		return
	}
	i := slices.IndexFunc(reqs, func(fr report.Request) bool { return fr.EntityID == q.Get("exchange") })
	if i < 0 {
		writeError(w, r, http.StatusNotFound, "not_found", "the trace reached no exchange with entity_id "+q.Get("exchange"))
		return
	}
	var write func(io.Writer, report.Request) error
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		write = report.WriteCSV
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		write = report.WriteHTML
	default:
		writeError(w, r, http.StatusBadRequest, "bad_request", "format: want json, csv or html")
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+reqs[i].Name+"."+format+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := write(w, reqs[i]); err != nil {
		s.log.ErrorContext(r.Context(), "write freeze request", "err", err)
	}
}

// getTrace answers GET /v1/traces/{id}: a recent forward trace's result.
func (s *Server) getTrace(w http.ResponseWriter, r *http.Request) {
	res, ok := s.cfg.Tracer.TraceResult(r.Context(), r.PathValue("id"))
	if !ok {
		writeError(w, r, http.StatusNotFound, "not_found", "no trace "+r.PathValue("id")+" (results are kept for an hour)")
		return
	}
	writeJSON(w, http.StatusOK, res)
}
