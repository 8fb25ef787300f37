package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/screen"
)

// Direction is a registered transfer's direction, from the exchange's
// side.
type Direction string

// The directions.
const (
	// Deposit: the counterparty paid the exchange (a customer's deposit).
	Deposit Direction = "deposit"
	// Withdrawal: the exchange paid the counterparty.
	Withdrawal Direction = "withdrawal"
)

// ParseDirection reads "deposit" or "withdrawal".
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(strings.ToLower(strings.TrimSpace(s))); d {
	case Deposit, Withdrawal:
		return d, nil
	}
	return "", fmt.Errorf("direction %q: want deposit or withdrawal", s)
}

// Action is what a transfer's risk decision asks of the exchange.
type Action string

// The actions, from least to most restrictive.
const (
	// Accept: below the review threshold, nothing disagrees.
	Accept Action = "accept"
	// Review: at or above the review threshold, screening could not
	// decide, or the chain disagrees with the registration.
	Review Action = "review"
	// Block: the counterparty is sanctioned.
	Block Action = "block"
)

// Decision is a transfer's risk decision and why.
type Decision struct {
	Action Action      `json:"action"`
	Risk   screen.Risk `json:"risk"`
	// Reasons are the screening's reasons, then the chain check's and
	// the scorer's, riskiest first.
	Reasons []screen.Reason `json:"reasons"`
	// Screening is the counterparty's screening result as the node's
	// screening gives it, passed through whole (sanctions, attributions,
	// partners' flags, exposure, the risk rule that set the level).
	Screening screen.Result `json:"screening"`
	// Model is the learned scorer's judgement of the counterparty, where
	// it is an Ethereum address the graph holds.
	Model     *detect.AccountScore `json:"model,omitempty"`
	Evaluated time.Time            `json:"evaluated"`
}

// CheckStatus is what the transfer graph says of a registered transfer.
type CheckStatus string

// The chain check's outcomes.
const (
	// CheckAgrees: the transaction is stored and its transfer agrees
	// with the registration: address, asset and amount.
	CheckAgrees CheckStatus = "agrees"
	// CheckDisagrees: the transaction is stored but something differs.
	CheckDisagrees CheckStatus = "disagrees"
	// CheckUnknownTx: the graph holds the chain but not the transaction
	// (yet: the ingest may lag the exchange).
	CheckUnknownTx CheckStatus = "unknown_tx"
	// CheckNotIngested: the node does not ingest this chain.
	CheckNotIngested CheckStatus = "not_ingested"
)

// ChainCheck is a registered transfer checked against the transfer graph.
type ChainCheck struct {
	Status CheckStatus `json:"status"`
	// Block and Time locate the stored transaction.
	Block uint64    `json:"block,omitempty"`
	Time  time.Time `json:"time,omitzero"`
	// Mismatches say what disagrees, in words.
	Mismatches []string  `json:"mismatches,omitempty"`
	Checked    time.Time `json:"checked"`
}

// Flags name what is wrong with a registration, for filtering.
const (
	FlagUnknownTx        = "unknown_tx"
	FlagNoTransfer       = "no_matching_transfer"
	FlagAmount           = "amount_disagrees"
	FlagAsset            = "asset_disagrees"
	FlagCounterparty     = "counterparty_disagrees"
	FlagScreeningUnknown = "screening_unknown"
)

// Transfer is a customer's deposit or withdrawal an exchange registered
// for monitoring: kept, screened at registration, checked against the
// chain, and re-evaluated whenever the node learns something new about
// its counterparty.
type Transfer struct {
	// ID is the exchange's own id of the transfer.
	ID string `json:"id"`
	// Customer is the exchange's reference of its customer.
	Customer string      `json:"customer"`
	Chain    chain.Chain `json:"chain"`
	Tx       string      `json:"tx"`
	// Index is the output index (UTXO chains) or the log index (a token
	// transfer); nil for an account chain's native transfer.
	Index *uint32 `json:"index,omitempty"`
	// Counterparty is the customer's address in canonical form: the
	// sender of a deposit, the recipient of a withdrawal.
	Counterparty string       `json:"counterparty"`
	Asset        chain.Asset  `json:"asset,omitempty"`
	Amount       chain.Amount `json:"amount"`
	Direction    Direction    `json:"direction"`
	// Time is when the transfer happened, as the exchange recorded it.
	Time time.Time `json:"time,omitzero"`

	Registered   time.Time `json:"registered"`
	RegisteredBy string    `json:"registered_by,omitempty"`
	// Decision is the decision answered at registration, kept as the
	// exchange received it; a repeat of the registration answers it.
	Decision Decision `json:"decision"`
	// Current is the latest re-evaluation that changed the verdict.
	Current *Decision  `json:"current,omitempty"`
	Check   ChainCheck `json:"chain_check"`
	// Flags name what disagrees or could not be checked.
	Flags []string `json:"flags,omitempty"`
	// Alerts are the alerts raised on it: at registration, retroactively.
	Alerts []string `json:"alerts,omitempty"`
}

// SameRequest reports whether o registers the same transfer as t: a
// repeat with the same content is answered with t's decision.
func (t *Transfer) SameRequest(o *Transfer) bool {
	same := t.ID == o.ID && t.Customer == o.Customer && t.Chain == o.Chain && strings.EqualFold(t.Tx, o.Tx) &&
		t.Counterparty == o.Counterparty && t.Asset == o.Asset && t.Amount.Cmp(o.Amount) == 0 && t.Direction == o.Direction &&
		t.Time.Equal(o.Time)
	if !same || (t.Index == nil) != (o.Index == nil) {
		return false
	}
	return t.Index == nil || *t.Index == *o.Index
}

// Verdict is the last screening of one registered counterparty: what
// re-evaluation compares the screening index against.
type Verdict struct {
	Chain   chain.Chain `json:"chain"`
	Address string      `json:"address"`
	Risk    screen.Risk `json:"risk,omitempty"`
	// Fingerprint digests every fact the index holds on the address, so
	// that an unchanged address is passed over without building its
	// screening result.
	Fingerprint uint64 `json:"fingerprint"`
	// Reasons are the screening's reasons' messages.
	Reasons   []string  `json:"reasons,omitempty"`
	Evaluated time.Time `json:"evaluated"`
}

// TransferStore keeps registered transfers, their index by counterparty
// and the counterparties' verdicts.
type TransferStore interface {
	// PutTransfers stores transfers (each replacing the one of its id,
	// indexed by its counterparty) and verdicts in one atomic write.
	PutTransfers(ctx context.Context, ts []Transfer, vs []Verdict) error
	// Transfer returns a transfer by id; false if there is none.
	Transfer(ctx context.Context, id string) (Transfer, bool, error)
	// TransferRefs calls fn with every registered transfer's chain,
	// counterparty and id, by counterparty, and whether its chain check
	// found no transaction yet (CheckUnknownTx).
	TransferRefs(ctx context.Context, fn func(c chain.Chain, address, id string, unchecked bool) error) error
	// Verdicts calls fn with every stored verdict.
	Verdicts(ctx context.Context, fn func(Verdict) error) error
}

// ErrConflict is a registration that reuses an id with other content.
var ErrConflict = errors.New("a transfer of that id is registered with other content")

// ValidID reports whether id can be a transfer's id: 1 to 128 printable
// ASCII characters without spaces, so that it is safe in a URL path
// segment once escaped, in logs and in store keys.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '/' {
			return false
		}
	}
	return true
}
