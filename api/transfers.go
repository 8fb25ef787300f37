package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/tracehound/tracehound/alert"
)

// Transfer monitoring: an exchange registers each customer deposit and
// withdrawal (POST /v1/transfers) and gets the risk decision back; the
// node keeps the transfer, checks it against the chain it ingests, and
// re-evaluates it whenever it learns something new of the counterparty.

// TransferRequest is the body of POST /v1/transfers.
type TransferRequest struct {
	// ID is the exchange's own id of the transfer: a repeat with the
	// same content answers the stored decision, one with other content
	// is refused (409).
	ID string `json:"id"`
	// Customer is the exchange's reference of its customer.
	Customer string `json:"customer"`
	Chain    string `json:"chain"`
	Tx       string `json:"tx"`
	// Index is the output index (UTXO chains) or the token transfer's
	// log index; absent for an account chain's native transfer.
	Index *uint32 `json:"index,omitempty"`
	// Counterparty is the customer's address: the sender of a deposit,
	// the recipient of a withdrawal.
	Counterparty string `json:"counterparty"`
	// Asset is the token contract; empty (or the chain's coin symbol)
	// for the native coin.
	Asset string `json:"asset,omitempty"`
	// Amount is exact, in base units (wei, satoshi, token units).
	Amount    string `json:"amount"`
	Direction string `json:"direction"`
	// Time is when the transfer happened (RFC 3339), optional.
	Time string `json:"time,omitempty"`
}

// Transfers registers and reads monitored transfers. Mistakes in a
// request are InputErrors; an id reused with other content a
// ConflictError.
type Transfers interface {
	// RegisterTransfer registers a transfer and returns it with its
	// decision; created is false for a repeat.
	RegisterTransfer(ctx context.Context, req TransferRequest) (t alert.Transfer, created bool, err error)
	// Transfer returns a registered transfer; false if there is none.
	Transfer(ctx context.Context, id string) (alert.Transfer, bool, error)
}

func (s *Server) registerTransfer(w http.ResponseWriter, r *http.Request) {
	var req TransferRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "transfer: "+err.Error())
		return
	}
	t, created, err := s.cfg.Transfers.RegisterTransfer(r.Context(), req)
	var ie *InputError
	var ce *ConflictError
	switch {
	case errors.As(err, &ie):
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case errors.As(err, &ce):
		writeError(w, r, http.StatusConflict, "conflict", err.Error())
	case err != nil:
		s.internalError(w, r, "register transfer", err)
	case created:
		w.Header().Set("Location", "/v1/transfers/"+url.PathEscape(t.ID))
		writeJSON(w, http.StatusCreated, t)
	default:
		writeJSON(w, http.StatusOK, t)
	}
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, ok, err := s.cfg.Transfers.Transfer(r.Context(), id)
	switch {
	case err != nil:
		s.internalError(w, r, "read transfer", err)
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "no transfer "+id)
	default:
		writeJSON(w, http.StatusOK, t)
	}
}

// RegisterTransfer registers a transfer through POST /v1/transfers;
// created is false when the node already held it.
func (c *Client) RegisterTransfer(ctx context.Context, req TransferRequest) (alert.Transfer, bool, error) {
	var t alert.Transfer
	status, err := c.doStatus(ctx, http.MethodPost, "/v1/transfers", req, &t)
	return t, status == http.StatusCreated, err
}

// Transfer reads a registered transfer through GET /v1/transfers/{id};
// false if the node holds none of that id.
func (c *Client) Transfer(ctx context.Context, id string) (alert.Transfer, bool, error) {
	var t alert.Transfer
	err := c.do(ctx, http.MethodGet, "/v1/transfers/"+url.PathEscape(id), nil, &t)
	var ce *ClientError
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
		return alert.Transfer{}, false, nil
	}
	return t, err == nil, err
}
