package chain

import "time"

// KindInput marks the outgoing posting of a Bitcoin input: the address
// whose coin the input spends sent its value in that transaction.
const KindInput TransferKind = 100

// Posting is one transfer as seen from one address: incoming or outgoing.
// A transfer is identified by Tx, Kind and Pos, the same in the sender's
// and the recipient's posting.
type Posting struct {
	Chain        Chain        `json:"chain"`
	Address      string       `json:"address"`
	Incoming     bool         `json:"incoming"`
	Time         time.Time    `json:"time"`
	Block        uint64       `json:"block"`
	TxIndex      uint32       `json:"tx_index"`
	Kind         TransferKind `json:"kind"`
	Pos          uint32       `json:"pos"`
	Tx           string       `json:"tx"`
	Counterparty string       `json:"counterparty"`
	Asset        Asset        `json:"asset,omitempty"`
	Amount       Amount       `json:"amount"`
}

// PostingQuery selects an address's postings.
type PostingQuery struct {
	// Incoming and Outgoing select the directions; neither means both.
	Incoming, Outgoing bool
	// Since and Until bound the block time (inclusive, exclusive); zero
	// means unbounded.
	Since, Until time.Time
	// Oldest reads in time order; the default is newest first.
	Oldest bool
	Limit  int
}
