package chain

// What a block says of funds crossing to another chain: the deposits that
// bridges and cross-chain swaps recorded on this chain, with where the
// funds are to go, and the payouts that complete deposits made on another
// chain. Sources read them from what the chain itself carries (an EVM
// contract's events, a Bitcoin OP_RETURN memo) as they read the block, so
// that the graph stores them with the block, atomically, and drops them
// with it on a reorganisation. Both sides meet on Key.

// BridgeEvents are a block's bridge deposits and payouts.
type BridgeEvents struct {
	Deposits []BridgeDeposit `json:"deposits,omitempty"`
	Payouts  []BridgePayout  `json:"payouts,omitempty"`
}

// Empty reports whether there are no events.
func (e *BridgeEvents) Empty() bool { return e == nil || len(e.Deposits) == 0 && len(e.Payouts) == 0 }

// BridgeDeposit is value handed to a bridge or a cross-chain swap in one
// transaction, as the bridge's own event on this chain describes it.
type BridgeDeposit struct {
	// Bridge names the protocol: "thorchain", "across", "cbridge" ...
	Bridge string `json:"bridge"`
	Tx     string `json:"tx"`
	// Log is the event's place: its log index in the block (EVM), its
	// output index (UTXO chains).
	Log uint32 `json:"log"`
	// Contract is the address that took the deposit (a router, a pool).
	Contract  string `json:"contract"`
	Depositor string `json:"depositor,omitempty"`
	// Asset and Amount are what was deposited, in this chain's base units.
	Asset  Asset  `json:"asset,omitempty"`
	Amount Amount `json:"amount"`
	// Memo is the deposit's memo as written (THORChain's).
	Memo string `json:"memo,omitempty"`
	// DestChain, DestAsset and Recipient are where the bridge is asked to
	// pay, in the bridge's own names ("BTC", "eip155:8453", "BTC.BTC").
	DestChain string `json:"dest_chain,omitempty"`
	DestAsset string `json:"dest_asset,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	// MinOut is the least the bridge may pay, in its own units.
	MinOut Amount `json:"min_out,omitzero"`
	// Key names the payout: the destination's payout records carry it.
	Key string `json:"key,omitempty"`
	// Err says why the event is a deposit that cannot be followed (a
	// memo that does not parse); the deposit is kept, with what was
	// read of it, so that a trace shows it rather than guess.
	Err string `json:"error,omitempty"`
}

// BridgePayout is a transaction in which a bridge pays out what was
// deposited on another chain, naming the deposit by Key.
type BridgePayout struct {
	Bridge string `json:"bridge"`
	Key    string `json:"key"`
	Tx     string `json:"tx"`
	// Log is the event's log index (EVM) or the memo output's index.
	Log uint32 `json:"log"`
	// To, Asset and Amount are the payment as the event gives it; To is
	// empty where the transaction's outputs tell (a Bitcoin payout, whose
	// memo names the deposit but not the output that pays it).
	To     string `json:"to,omitempty"`
	Asset  Asset  `json:"asset,omitempty"`
	Amount Amount `json:"amount,omitzero"`
	// Refund is set when the bridge gave the deposit back instead.
	Refund bool   `json:"refund,omitempty"`
	Memo   string `json:"memo,omitempty"`
}
