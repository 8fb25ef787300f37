package chain

import "time"

// Asset names what a transfer moves: "" for the chain's native coin
// (BTC, ETH), otherwise the token contract's canonical address (an ERC-20's
// lower-case 0x address).
type Asset string

// Native is the chain's own coin.
const Native Asset = ""

// TransferKind says where in a transaction a transfer comes from.
type TransferKind uint8

// Kinds of transfer. The (transaction, kind, position) triple identifies a
// transfer uniquely.
const (
	// KindNative is a transaction's top-level value (Ethereum), position 0.
	KindNative TransferKind = iota + 1
	// KindInternal is value moved by a contract call inside a transaction,
	// from a call trace; position is the call's order in the trace.
	KindInternal
	// KindToken is an ERC-20 Transfer event; position is the log index.
	KindToken
	// KindOutput is a Bitcoin transaction output; position is its index.
	KindOutput
)

func (k TransferKind) String() string {
	switch k {
	case KindNative:
		return "native"
	case KindInternal:
		return "internal"
	case KindToken:
		return "token"
	case KindOutput:
		return "output"
	}
	return "unknown"
}

// Transfer is value moving from one address to another. Amounts are exact
// base units of Asset. For Bitcoin, where value moves from a set of inputs
// to a set of outputs, each output is a transfer whose From is the
// transaction's principal input (its largest, first among equals); the
// UTXO structure in Tx keeps the exact picture for taint analysis.
type Transfer struct {
	Chain  Chain        `json:"chain"`
	Tx     string       `json:"tx"`
	Kind   TransferKind `json:"kind"`
	Pos    uint32       `json:"pos"`
	Block  uint64       `json:"block"`
	Time   time.Time    `json:"time"`
	From   string       `json:"from"`
	To     string       `json:"to"`
	Asset  Asset        `json:"asset,omitempty"`
	Amount Amount       `json:"amount"`
}

// Block is one block of any chain as the sources deliver it.
type Block struct {
	Chain  Chain
	Height uint64
	Hash   string // lower-case hex, as explorers show it
	Parent string
	Time   time.Time
	Txs    []Tx
	// Bridge holds what the block's bridge and cross-chain swap events
	// say (nil if none): deposits leaving for another chain, payouts of
	// deposits made on one.
	Bridge *BridgeEvents
}

// Tx is one transaction. Ethereum transactions carry Transfers; Bitcoin
// transactions carry Inputs and Outputs, from which the store derives
// transfers once every input's previous output is resolved.
type Tx struct {
	Hash  string
	Index int // position in the block
	// Fee paid, in the native coin's base units. A failed Ethereum
	// transaction moves no value but still pays its fee.
	Fee    Amount
	From   string // the sender (Ethereum), who pays the fee
	Failed bool

	Transfers []Transfer

	Coinbase bool
	Inputs   []Input
	Outputs  []Output
}

// Input spends a previous output. Address and Value are filled in when the
// previous output is resolved (from the source or from the UTXO index).
type Input struct {
	PrevTx    string
	PrevIndex uint32
	Address   string
	Value     uint64 // satoshi
}

// Output creates a spendable coin. Address is empty when the script pays no
// standard address (OP_RETURN data, non-standard scripts).
type Output struct {
	Index   uint32
	Address string
	Value   uint64 // satoshi
	Script  string // script class: p2pkh, p2sh, p2wpkh, p2wsh, p2tr, p2pk, multisig, nulldata, nonstandard
}

// OutPoint names a Bitcoin transaction output.
type OutPoint struct {
	Tx    string
	Index uint32
}

// Tip is the last block a store holds for a chain.
type Tip struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	// Time is the block's time: what a store holds ends there.
	Time    time.Time `json:"time,omitzero"`
	Source  string    `json:"source"`
	Updated time.Time `json:"updated"`
}
