package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/screen"
)

// screenRequest is the body of POST /v1/screen. Each address is a string,
// or an object naming its chain.
type screenRequest struct {
	Addresses []query `json:"addresses"`
}

type query screen.Query

func (q *query) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &q.Address)
	}
	var o struct {
		Address string `json:"address"`
		Chain   string `json:"chain"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("an address is a string or {\"address\": ..., \"chain\": ...}: %w", err)
	}
	q.Address, q.Chain = o.Address, chain.ParseChain(o.Chain)
	return nil
}

// Summary counts a batch's results by risk level.
type Summary struct {
	Total      int            `json:"total"`
	Invalid    int            `json:"invalid"`
	Sanctioned int            `json:"sanctioned"`
	ByRisk     map[string]int `json:"by_risk"`
}

type screenResponse struct {
	Summary Summary         `json:"summary"`
	Results []screen.Result `json:"results"`
}

func (s *Server) screenBatch(w http.ResponseWriter, r *http.Request) {
	release, ok := s.reserve(w, r)
	if !ok {
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	var req screenRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large",
				fmt.Sprintf("request body over %d bytes; split the batch", s.cfg.MaxBody))
			return
		}
		writeError(w, r, http.StatusBadRequest, "invalid_json", "request body: "+err.Error())
		return
	}
	if len(req.Addresses) == 0 {
		writeError(w, r, http.StatusBadRequest, "invalid_request", `no addresses: send {"addresses": ["..."]}`)
		return
	}
	if len(req.Addresses) > s.cfg.MaxBatch {
		writeError(w, r, http.StatusRequestEntityTooLarge, "too_many_addresses",
			fmt.Sprintf("%d addresses in one request; at most %d", len(req.Addresses), s.cfg.MaxBatch))
		return
	}
	qs := make([]screen.Query, len(req.Addresses))
	for i, q := range req.Addresses {
		qs[i] = screen.Query(q)
	}
	results, err := s.cfg.Index.ScreenBatch(r.Context(), qs)
	if err != nil {
		writeError(w, r, http.StatusServiceUnavailable, "cancelled", err.Error())
		return
	}
	clearance := clearanceOf(r)
	for i := range results {
		results[i].Restrict(clearance)
	}
	resp := screenResponse{Results: results, Summary: Summary{Total: len(results), ByRisk: map[string]int{}}}
	for i := range results {
		res := &results[i]
		switch {
		case res.Error != nil:
			resp.Summary.Invalid++
		default:
			resp.Summary.ByRisk[res.Risk.String()]++
		}
		if res.Sanctioned {
			resp.Summary.Sanctioned++
		}
	}
	s.countScreened(resp.Summary)
	writeScreenResponse(w, resp)
}

// writeScreenResponse writes the batch's answer result by result, so
// that a large batch is never held in memory twice (as results and as
// their encoding).
func writeScreenResponse(w http.ResponseWriter, resp screenResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	bw.WriteString(`{"summary":`)
	if err := enc.Encode(resp.Summary); err != nil {
		return
	}
	bw.WriteString(`,"results":[`)
	for i := range resp.Results {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(&resp.Results[i]); err != nil {
			return
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

func (s *Server) countScreened(sum Summary) {
	for risk, n := range sum.ByRisk {
		s.metrics.screened.WithLabelValues(risk).Add(float64(n))
	}
	if sum.Invalid > 0 {
		s.metrics.screened.WithLabelValues("invalid").Add(float64(sum.Invalid))
	}
}

// screenOne answers GET /v1/addresses/{chain}/{address}; chain "auto"
// detects it.
func (s *Server) screenOne(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("chain")
	if c == "auto" || c == "any" {
		c = ""
	}
	res := s.cfg.Index.Screen(screen.Query{Address: r.PathValue("address"), Chain: chain.ParseChain(c)})
	if res.Error != nil {
		s.countScreened(Summary{Invalid: 1})
		var b struct {
			Error struct {
				Code      string `json:"code"`
				Reason    string `json:"reason"`
				Message   string `json:"message"`
				RequestID string `json:"request_id,omitempty"`
			} `json:"error"`
		}
		b.Error.Code, b.Error.Reason, b.Error.Message = "invalid_address", res.Error.Reason, res.Error.Message
		b.Error.RequestID = w.Header().Get("X-Request-Id")
		writeJSON(w, http.StatusBadRequest, b)
		return
	}
	s.countScreened(Summary{ByRisk: map[string]int{res.Risk.String(): 1}})
	if s.cfg.Scorer != nil {
		sc, err := s.cfg.Scorer.AddressScore(r.Context(), res.Chain, res.Address)
		if err != nil {
			// The verdict stands without the score; say so in the log.
			s.log.Warn("scoring a screened address failed", "chain", res.Chain, "err", err)
		}
		res.Score = sc
	}
	res.Restrict(clearanceOf(r))
	writeJSON(w, http.StatusOK, res)
}

// clearanceOf is the TLP clearance of the request's key: what partners'
// flags it may read the details of.
func clearanceOf(r *http.Request) intel.TLP {
	if k := auth.KeyFrom(r.Context()); k != nil {
		return k.MaxTLP()
	}
	return intel.TLPClear
}

// Scorer scores an address the graph holds; nil where it holds nothing
// of it or the chain has no model.
type Scorer interface {
	AddressScore(ctx context.Context, c chain.Chain, addr string) (*detect.AccountScore, error)
}
