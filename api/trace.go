package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// TraceRequest is the body of POST /v1/traces.
type TraceRequest struct {
	Chain string `json:"chain"`
	// Seeds are addresses or transaction hashes: ADDRESS, TX,
	// TX:OUTPUT (a Bitcoin output) or TX:ADDRESS (what the transaction
	// paid the address), each optionally followed by =AMOUNT (the stolen
	// part, in base units) and @TIME (when the seed's funds count from).
	Seeds []string `json:"seeds"`
	Model string   `json:"model,omitempty"`
	Hops  int      `json:"hops,omitempty"`
	// Min is the dust limit in base units, as a decimal string.
	Min   string `json:"min,omitempty"`
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	Asset string `json:"asset,omitempty"`
	// NoCluster turns the deposit-address heuristic off.
	NoCluster bool `json:"no_cluster,omitempty"`
	// NoSwaps ends the trace at DeFi venues instead of following swaps
	// into the assets they paid out.
	NoSwaps bool `json:"no_swaps,omitempty"`
	// Direction is "forward" (default: where did it go) or "backward"
	// (where did the seed's incoming funds come from; one address seed).
	Direction string `json:"direction,omitempty"`
}

// Tracer runs traces.
type Tracer interface {
	Trace(ctx context.Context, req TraceRequest) (any, error)
}

// InputError is a caller's mistake in a request: answered with 400 and
// its message.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func (s *Server) runTrace(w http.ResponseWriter, r *http.Request) {
	var req TraceRequest
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: "+err.Error())
		return
	}
	if len(req.Seeds) == 0 || len(req.Seeds) > 10_000 {
		writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: give 1 to 10,000 seeds")
		return
	}
	if r.URL.Query().Get("async") == "true" {
		s.startTraceJob(w, r, req)
		return
	}
	res, err := s.cfg.Tracer.Trace(r.Context(), req)
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
