package etl

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
)

// BitcoinSource reads bitcoin-etl's transactions export as a stream of
// chain.Bitcoin blocks. bitcoin-etl (export_blocks_and_transactions)
// writes one JSON object a line, each transaction with its inputs and
// outputs nested; a CSV export of the same table (BigQuery's
// crypto_bitcoin.transactions) carries inputs and outputs as JSON arrays
// in its columns. Both are read, by the first byte of the file.
//
// Outputs are classified from their script_hex with the same decoder as
// raw blocks (chain/btc), so that an address means the same whichever
// source it came from; the export's own addresses are cross-checked
// where bitcoind names one address, and a mismatch is an error. The
// export's non-standard pseudo-addresses ("nonstandard" and a hash) are
// not addresses: such outputs pay none, as in chain/btc. Coinbase
// transactions have no inputs in bitcoin-etl (it drops the coinbase
// input). Inputs keep their previous output; their addresses and values
// are resolved by ingest from the outputs stored before them.
type BitcoinSource struct {
	path   string
	f      *os.File
	size   int64
	read   *atomic.Int64
	params *chaincfg.Params
	next   func() (btcTx, int, error) // the next transaction and its line
	peek   *btcTx
	line   int
	last   *chain.Block
	eof    bool
}

// btcTx is one transaction of the export.
type btcTx struct {
	Hash           string      `json:"hash"`
	BlockNumber    *uint64     `json:"block_number"`
	BlockHash      string      `json:"block_hash"`
	BlockTimestamp *int64      `json:"block_timestamp"`
	IsCoinbase     *bool       `json:"is_coinbase"`
	Index          *int        `json:"index"`
	Inputs         []btcInput  `json:"inputs"`
	Outputs        []btcOutput `json:"outputs"`
}

type btcInput struct {
	Index                int     `json:"index"`
	SpentTransactionHash string  `json:"spent_transaction_hash"`
	SpentOutputIndex     *uint32 `json:"spent_output_index"`
}

type btcOutput struct {
	Index     *uint32  `json:"index"`
	ScriptHex *string  `json:"script_hex"`
	Type      string   `json:"type"`
	Addresses []string `json:"addresses"`
	Value     *uint64  `json:"value"`
}

// OpenBitcoin opens a bitcoin-etl transactions export of the network of
// params.
func OpenBitcoin(path string, params *chaincfg.Params) (*BitcoinSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &BitcoinSource{path: path, f: f, size: st.Size(), read: new(atomic.Int64), params: params}
	br := bufio.NewReaderSize(countingReader{f, s.read}, 1<<20)
	first, err := br.Peek(1)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: empty file", path)
	}
	if first[0] == '{' {
		dec := json.NewDecoder(br)
		s.next = func() (btcTx, int, error) {
			var t btcTx
			s.line++
			if err := dec.Decode(&t); err != nil {
				if errors.Is(err, io.EOF) {
					return t, s.line, io.EOF
				}
				return t, s.line, fmt.Errorf("not a bitcoin-etl transaction: %v", err)
			}
			return t, s.line, nil
		}
	} else if err := s.csv(br); err != nil {
		f.Close()
		return nil, err
	}
	if err := s.advance(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// csv reads the export as CSV with JSON inputs and outputs.
func (s *BitcoinSource) csv(r io.Reader) error {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", s.path, err)
	}
	col := make(map[string]int)
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, n := range []string{"hash", "block_number", "block_timestamp", "inputs", "outputs"} {
		if _, ok := col[n]; !ok {
			return fmt.Errorf("%s: no %s column: not a bitcoin-etl transactions export", s.path, n)
		}
	}
	cr.FieldsPerRecord = len(head)
	s.line = 1
	s.next = func() (btcTx, int, error) {
		rec, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return btcTx{}, s.line, io.EOF
			}
			return btcTx{}, s.line + 1, err
		}
		line, _ := cr.FieldPos(0)
		s.line = line
		get := func(n string) string {
			if i, ok := col[n]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		t := btcTx{Hash: get("hash"), BlockHash: get("block_hash")}
		n, err := strconv.ParseUint(get("block_number"), 10, 64)
		if err != nil {
			return t, line, fmt.Errorf("block_number %q", get("block_number"))
		}
		t.BlockNumber = &n
		ts, err := parseTime(get("block_timestamp"))
		if err != nil {
			return t, line, fmt.Errorf("block_timestamp: %v", err)
		}
		u := ts.Unix()
		t.BlockTimestamp = &u
		if v := get("is_coinbase"); v != "" {
			b := v == "true" || v == "True" || v == "1"
			t.IsCoinbase = &b
		}
		if v := get("index"); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				return t, line, fmt.Errorf("index %q", v)
			}
			t.Index = &i
		}
		if err := json.Unmarshal([]byte(get("inputs")), &t.Inputs); err != nil {
			return t, line, fmt.Errorf("inputs: %v", err)
		}
		if err := json.Unmarshal([]byte(get("outputs")), &t.Outputs); err != nil {
			return t, line, fmt.Errorf("outputs: %v", err)
		}
		return t, line, nil
	}
	return nil
}

func (s *BitcoinSource) errorf(line int, format string, args ...any) error {
	return &LineError{File: s.path, Line: line, Err: fmt.Errorf(format, args...)}
}

// advance reads the next transaction into peek, checking that blocks do
// not go back.
func (s *BitcoinSource) advance() error {
	t, line, err := s.next()
	if errors.Is(err, io.EOF) {
		s.eof, s.peek = true, nil
		return nil
	}
	if err != nil {
		return s.errorf(line, "%v", err)
	}
	if t.BlockNumber == nil || t.BlockTimestamp == nil {
		return s.errorf(line, "transaction %s has no block_number or block_timestamp", t.Hash)
	}
	if s.peek != nil && *t.BlockNumber < *s.peek.BlockNumber {
		return s.errorf(line, "block %d after block %d: the export must be sorted by block number", *t.BlockNumber, *s.peek.BlockNumber)
	}
	s.peek = &t
	s.line = line
	return nil
}

// Close closes the file.
func (s *BitcoinSource) Close() { s.f.Close() }

// Chain is chain.Bitcoin.
func (s *BitcoinSource) Chain() chain.Chain { return chain.Bitcoin }

// ID names the source in the chain's tip.
func (s *BitcoinSource) ID() string { return "btc:bitcoin-etl" }

// First is the first block of the export, and false if it is empty.
func (s *BitcoinSource) First() (uint64, bool) {
	if s.peek == nil {
		return 0, false
	}
	return *s.peek.BlockNumber, true
}

// Progress is bytes read over the file's size.
func (s *BitcoinSource) Progress() (done, total int64) { return s.read.Load(), s.size }

// Next returns the next block. Every Bitcoin block has a coinbase, so a
// height the export skips is an error, not an empty block.
func (s *BitcoinSource) Next(ctx context.Context) (*chain.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.peek == nil {
		return nil, io.EOF
	}
	h := *s.peek.BlockNumber
	if s.last != nil && h != s.last.Height+1 {
		return nil, s.errorf(s.line, "block %d follows block %d: every Bitcoin block has a coinbase, so the export misses blocks", h, s.last.Height)
	}
	b := &chain.Block{Chain: chain.Bitcoin, Height: h, Time: time.Unix(*s.peek.BlockTimestamp, 0).UTC()}
	if s.last != nil {
		b.Parent = s.last.Hash
	}
	type indexed struct {
		tx   chain.Tx
		idx  int
		line int
	}
	var txs []indexed
	for s.peek != nil && *s.peek.BlockNumber == h {
		t, line := s.peek, s.line
		tx, err := s.tx(t)
		if err != nil {
			return nil, s.errorf(line, "transaction %s: %v", t.Hash, err)
		}
		if bh := strings.ToLower(t.BlockHash); bh != "" {
			if b.Hash != "" && b.Hash != bh {
				return nil, s.errorf(line, "block %d is %s, but an earlier transaction says %s", h, bh, b.Hash)
			}
			b.Hash = bh
		}
		idx := len(txs)
		if t.Index != nil {
			idx = *t.Index
		}
		txs = append(txs, indexed{tx, idx, line})
		if err := s.advance(); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(txs, func(x, y indexed) int { return x.idx - y.idx })
	b.Txs = make([]chain.Tx, len(txs))
	for i, t := range txs {
		if t.idx != i {
			return nil, s.errorf(t.line, "block %d: transaction indexes are not 0..%d", h, len(txs)-1)
		}
		b.Txs[i] = t.tx
		b.Txs[i].Index = i
	}
	if !b.Txs[0].Coinbase {
		return nil, s.errorf(txs[0].line, "block %d does not start with a coinbase", h)
	}
	s.last = b
	return b, nil
}

// tx converts one transaction.
func (s *BitcoinSource) tx(t *btcTx) (chain.Tx, error) {
	h := strings.ToLower(t.Hash)
	if len(h) != 64 || !isHex(h) {
		return chain.Tx{}, fmt.Errorf("hash %q is not 32 bytes of hex", t.Hash)
	}
	tx := chain.Tx{Hash: h}
	tx.Coinbase = len(t.Inputs) == 0
	if t.IsCoinbase != nil && *t.IsCoinbase != tx.Coinbase {
		return chain.Tx{}, fmt.Errorf("is_coinbase %v with %d inputs", *t.IsCoinbase, len(t.Inputs))
	}
	for i, in := range t.Inputs {
		p := strings.ToLower(in.SpentTransactionHash)
		if len(p) != 64 || !isHex(p) || in.SpentOutputIndex == nil {
			return chain.Tx{}, fmt.Errorf("input %d spends %q:%v, not an outpoint", i, in.SpentTransactionHash, in.SpentOutputIndex)
		}
		tx.Inputs = append(tx.Inputs, chain.Input{PrevTx: p, PrevIndex: *in.SpentOutputIndex})
	}
	if len(t.Outputs) == 0 {
		return chain.Tx{}, errors.New("no outputs")
	}
	for i, o := range t.Outputs {
		if o.Value == nil {
			return chain.Tx{}, fmt.Errorf("output %d has no value", i)
		}
		idx := uint32(i)
		if o.Index != nil {
			idx = *o.Index
		}
		if idx != uint32(i) {
			return chain.Tx{}, fmt.Errorf("output %d has index %d", i, idx)
		}
		addr, class, err := s.output(o)
		if err != nil {
			return chain.Tx{}, fmt.Errorf("output %d: %v", i, err)
		}
		tx.Outputs = append(tx.Outputs, chain.Output{Index: idx, Address: addr, Value: *o.Value, Script: class})
	}
	return tx, nil
}

// singleAddress are bitcoind's types whose scripts pay exactly one
// address, and the class chain/btc gives them.
var singleAddress = map[string]string{
	"pubkeyhash":            btc.ClassP2PKH,
	"scripthash":            btc.ClassP2SH,
	"witness_v0_keyhash":    btc.ClassP2WPKH,
	"witness_v0_scripthash": btc.ClassP2WSH,
	"witness_v1_taproot":    btc.ClassP2TR,
}

// output classifies an output by its script, cross-checked with the
// export's type and address; without a script, by the export's own.
func (s *BitcoinSource) output(o btcOutput) (string, string, error) {
	if o.ScriptHex != nil {
		script, err := hex.DecodeString(*o.ScriptHex)
		if err != nil {
			return "", "", fmt.Errorf("script_hex: %v", err)
		}
		addr, class := btc.ScriptAddress(script, s.params)
		if want, ok := singleAddress[o.Type]; ok && len(o.Addresses) == 1 {
			if class != want || addr != o.Addresses[0] {
				return "", "", fmt.Errorf("the script pays %s (%s), the export says %s (%s)", addr, class, o.Addresses[0], o.Type)
			}
		}
		return addr, class, nil
	}
	class, ok := singleAddress[o.Type]
	if !ok {
		// Multisig, OP_RETURN and non-standard outputs pay no single
		// address; the export's pseudo-address is no address.
		switch o.Type {
		case "multisig", "nulldata", "nonstandard", "witness_unknown", "pubkey", "anchor":
		default:
			return "", "", fmt.Errorf("type %q without a script", o.Type)
		}
		if o.Type == "pubkey" {
			return "", "", errors.New("a pay-to-pubkey output without its script: the key's address cannot be checked")
		}
		return "", map[string]string{"multisig": btc.ClassMultisig, "nulldata": btc.ClassNullData, "witness_unknown": btc.ClassWitnessUnknown, "anchor": btc.ClassAnchor}[o.Type] + orNonstandard(o.Type), nil
	}
	if len(o.Addresses) != 1 {
		return "", "", fmt.Errorf("type %s with %d addresses", o.Type, len(o.Addresses))
	}
	a, err := btc.Codec{}.Parse(o.Addresses[0])
	if err != nil {
		return "", "", err
	}
	return a.Value, class, nil
}

func orNonstandard(t string) string {
	if t == "nonstandard" {
		return btc.ClassNonStandard
	}
	return ""
}
