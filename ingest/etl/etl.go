// Package etl reads the CSV exports of blockchain-etl's ethereum-etl (and
// the BigQuery crypto_ethereum tables exported as CSV): transactions,
// receipts, token transfers, traces and blocks, as a stream of blocks, so
// that history can be loaded without running a node.
//
// Files are read side by side, each in ascending block order (the order
// ethereum-etl writes them); a file out of order is an error naming its
// line, never a silent skip.
package etl

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Kind is what an export file holds, told by its header.
type Kind int

// The export kinds.
const (
	Transactions Kind = iota + 1
	Receipts
	TokenTransfers
	Traces
	Blocks
)

func (k Kind) String() string {
	switch k {
	case Transactions:
		return "transactions"
	case Receipts:
		return "receipts"
	case TokenTransfers:
		return "token_transfers"
	case Traces:
		return "traces"
	case Blocks:
		return "blocks"
	}
	return "unknown"
}

// kindOf tells a file's kind from its header's columns.
func kindOf(col map[string]int) (Kind, error) {
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := col[n]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("number", "hash", "parent_hash", "timestamp"):
		return Blocks, nil
	case has("block_number", "transaction_hash", "trace_address"):
		return Traces, nil
	case has("token_address", "from_address", "to_address", "value", "transaction_hash", "log_index", "block_number"):
		return TokenTransfers, nil
	case has("hash", "block_number", "transaction_index", "from_address", "to_address", "value"):
		return Transactions, nil
	case has("transaction_hash", "block_number", "gas_used", "status"):
		return Receipts, nil
	}
	return 0, errors.New("header matches no blockchain-etl export (transactions, receipts, token_transfers, traces, blocks)")
}

// LineError is a bad row: the file, its line and what is wrong.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// file is one export being read, one block's rows at a time.
type file struct {
	path  string
	kind  Kind
	f     *os.File
	cr    *csv.Reader
	col   map[string]int
	size  int64
	read  *atomic.Int64
	line  int
	row   []string // the next row, not yet consumed
	block uint64   // its block number
	eof   bool
	bcol  int // the block number's column
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func openFile(path string) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fl := &file{path: path, f: f, size: st.Size(), read: new(atomic.Int64)}
	fl.cr = csv.NewReader(countingReader{f, fl.read})
	fl.cr.ReuseRecord = false
	head, err := fl.cr.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", path)
		}
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	fl.line = 1
	fl.col = make(map[string]int, len(head))
	for i, h := range head {
		fl.col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if fl.kind, err = kindOf(fl.col); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fl.bcol = fl.col["block_number"]
	if fl.kind == Blocks {
		fl.bcol = fl.col["number"]
	}
	fl.cr.FieldsPerRecord = len(head)
	if err := fl.advance(); err != nil {
		f.Close()
		return nil, err
	}
	return fl, nil
}

func (fl *file) errorf(format string, args ...any) error {
	return &LineError{File: fl.path, Line: fl.line, Err: fmt.Errorf(format, args...)}
}

// advance reads the next row, checking that block numbers do not go back.
func (fl *file) advance() error {
	row, err := fl.cr.Read()
	if errors.Is(err, io.EOF) {
		fl.eof, fl.row = true, nil
		return nil
	}
	fl.line++
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			fl.line = pe.Line
			return fl.errorf("%v", pe.Err)
		}
		return fl.errorf("%v", err)
	}
	b, err := strconv.ParseUint(strings.TrimSpace(row[fl.bcol]), 10, 64)
	if err != nil {
		return fl.errorf("block number %q: not a number", row[fl.bcol])
	}
	if fl.row != nil && b < fl.block {
		return fl.errorf("block %d after block %d: the file must be sorted by block number", b, fl.block)
	}
	fl.row, fl.block = row, b
	return nil
}

// take returns the rows of block h and moves past them. Rows of earlier
// blocks are an error: the other files had nothing at that height.
func (fl *file) take(h uint64) ([][]string, []int, error) {
	var rows [][]string
	var lines []int
	for !fl.eof && fl.block <= h {
		if fl.block < h {
			return nil, nil, fl.errorf("%s row of block %d, a block the other files do not have: are they sorted by block number and from the same export?", fl.kind, fl.block)
		}
		rows, lines = append(rows, fl.row), append(lines, fl.line)
		if err := fl.advance(); err != nil {
			return nil, nil, err
		}
	}
	return rows, lines, nil
}

func (fl *file) get(row []string, name string) (string, bool) {
	i, ok := fl.col[name]
	if !ok {
		return "", false
	}
	return strings.TrimSpace(row[i]), true
}

// Source is a chain.Ethereum block stream over a set of export files. It
// implements ingest.StreamSource.
type Source struct {
	files map[Kind]*file
	last  *chain.Block
}

// Open opens export files of any kinds; transactions are required, and
// failed transactions must be told apart, by the transactions' receipt
// columns or by a receipts file.
func Open(paths ...string) (*Source, error) {
	s := &Source{files: make(map[Kind]*file)}
	for _, p := range paths {
		fl, err := openFile(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		if prev, ok := s.files[fl.kind]; ok {
			fl.f.Close()
			s.Close()
			return nil, fmt.Errorf("%s and %s are both %s exports: concatenate them in block order", prev.path, p, fl.kind)
		}
		s.files[fl.kind] = fl
	}
	tx, ok := s.files[Transactions]
	if !ok {
		s.Close()
		return nil, errors.New("no transactions export among the files: transfers are read from transactions with their receipts, token transfers and traces")
	}
	_, hasStatus := tx.col["receipt_status"]
	_, hasGas := tx.col["receipt_gas_used"]
	if _, ok := s.files[Receipts]; ok {
		hasStatus, hasGas = true, true
	}
	if !hasStatus || !hasGas {
		s.Close()
		return nil, fmt.Errorf("%s has no receipt_status and receipt_gas_used columns and no receipts export was given: failed transactions and fees cannot be known", tx.path)
	}
	return s, nil
}

// Close closes the files.
func (s *Source) Close() {
	for _, f := range s.files {
		f.f.Close()
	}
}

// Chain is chain.Ethereum.
func (s *Source) Chain() chain.Chain { return chain.Ethereum }

// ID names the source in the chain's tip.
func (s *Source) ID() string { return "eth:etl-csv" }

// First is the first block the export holds, or false if it is empty.
func (s *Source) First() (uint64, bool) {
	if f, ok := s.files[Blocks]; ok {
		return f.block, !f.eof
	}
	f := s.files[Transactions]
	return f.block, !f.eof
}

// Progress is bytes read over the files' total size.
func (s *Source) Progress() (done, total int64) {
	for _, f := range s.files {
		done += f.read.Load()
		total += f.size
	}
	return done, total
}

// Next returns the next block. Without a blocks export, heights the
// export skips (blocks without transactions) come back as empty blocks
// without a hash.
func (s *Source) Next(ctx context.Context) (*chain.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var h uint64
	bf, haveBlocks := s.files[Blocks]
	tf := s.files[Transactions]
	switch {
	case haveBlocks:
		if bf.eof {
			return nil, s.atEnd()
		}
		h = bf.block
	case tf.eof:
		return nil, s.atEnd()
	default:
		h = tf.block
		if s.last != nil && h > s.last.Height+1 {
			s.last = &chain.Block{Chain: chain.Ethereum, Height: s.last.Height + 1, Time: s.last.Time}
			return s.last, nil
		}
	}
	b, err := s.read(h)
	if err != nil {
		return nil, err
	}
	s.last = b
	return b, nil
}

// atEnd checks that no file holds rows past the last block.
func (s *Source) atEnd() error {
	for _, f := range s.files {
		if !f.eof {
			return f.errorf("%s row of block %d, after the export's last block", f.kind, f.block)
		}
	}
	return io.EOF
}

func (s *Source) read(h uint64) (*chain.Block, error) {
	b := &chain.Block{Chain: chain.Ethereum, Height: h}
	if bf, ok := s.files[Blocks]; ok {
		rows, _, err := bf.take(h)
		if err != nil {
			return nil, err
		}
		if len(rows) != 1 {
			return nil, bf.errorf("block %d appears %d times", h, len(rows))
		}
		hash, _ := bf.get(rows[0], "hash")
		parent, _ := bf.get(rows[0], "parent_hash")
		ts, _ := bf.get(rows[0], "timestamp")
		if b.Hash, err = hash32(hash); err != nil {
			return nil, bf.errorf("hash: %v", err)
		}
		if b.Parent, err = hash32(parent); err != nil {
			return nil, bf.errorf("parent_hash: %v", err)
		}
		if b.Time, err = parseTime(ts); err != nil {
			return nil, bf.errorf("timestamp: %v", err)
		}
	}
	tf := s.files[Transactions]
	rows, lines, err := tf.take(h)
	if err != nil {
		return nil, err
	}
	b.Txs = make([]chain.Tx, len(rows))
	index := make(map[string]int, len(rows))
	type extra struct {
		contract, status, gasUsed, price string
	}
	extras := make([]extra, len(rows))
	for i, row := range rows {
		bad := func(format string, args ...any) error {
			return &LineError{File: tf.path, Line: lines[i], Err: fmt.Errorf(format, args...)}
		}
		get := func(name string) string { v, _ := tf.get(row, name); return v }
		hash, err := hash32(get("hash"))
		if err != nil {
			return nil, bad("hash: %v", err)
		}
		ti, err := strconv.Atoi(get("transaction_index"))
		if err != nil || ti < 0 {
			return nil, bad("transaction_index %q", get("transaction_index"))
		}
		from, err := address(get("from_address"))
		if err != nil || from == "" {
			return nil, bad("from_address %q: %v", get("from_address"), err)
		}
		to, err := address(get("to_address"))
		if err != nil {
			return nil, bad("to_address: %v", err)
		}
		value, err := amount(get("value"))
		if err != nil {
			return nil, bad("value: %v", err)
		}
		if bh := get("block_hash"); bh != "" {
			if bh, err = hash32(bh); err != nil {
				return nil, bad("block_hash: %v", err)
			}
			if b.Hash != "" && b.Hash != bh {
				return nil, bad("block_hash %s, but block %d is %s", bh, h, b.Hash)
			}
			b.Hash = bh
		}
		if ts := get("block_timestamp"); ts != "" && b.Time.IsZero() {
			if b.Time, err = parseTime(ts); err != nil {
				return nil, bad("block_timestamp: %v", err)
			}
		}
		if _, dup := index[hash]; dup {
			return nil, bad("transaction %s appears twice", hash)
		}
		index[hash] = i
		b.Txs[i] = chain.Tx{Hash: hash, Index: ti, From: from}
		if !value.IsZero() {
			b.Txs[i].Transfers = []chain.Transfer{{Kind: chain.KindNative, From: from, To: to, Asset: chain.Native, Amount: value}}
		}
		price := get("receipt_effective_gas_price")
		if price == "" {
			price = get("gas_price")
		}
		extras[i] = extra{contract: get("receipt_contract_address"), status: get("receipt_status"), gasUsed: get("receipt_gas_used"), price: price}
	}
	if rf, ok := s.files[Receipts]; ok {
		rrows, rlines, err := rf.take(h)
		if err != nil {
			return nil, err
		}
		for k, row := range rrows {
			th, _ := rf.get(row, "transaction_hash")
			th, err := hash32(th)
			i, ok := index[th]
			if err != nil || !ok {
				return nil, &LineError{File: rf.path, Line: rlines[k], Err: fmt.Errorf("receipt of transaction %q, which block %d does not have", th, h)}
			}
			e := &extras[i]
			e.contract, _ = rf.get(row, "contract_address")
			e.status, _ = rf.get(row, "status")
			e.gasUsed, _ = rf.get(row, "gas_used")
			if p, _ := rf.get(row, "effective_gas_price"); p != "" {
				e.price = p
			}
		}
	}
	for i := range b.Txs {
		tx, e := &b.Txs[i], &extras[i]
		bad := func(format string, args ...any) error {
			return &LineError{File: tf.path, Line: lines[i], Err: fmt.Errorf(format, args...)}
		}
		switch e.status {
		case "0":
			tx.Failed = true
			tx.Transfers = nil
		case "1", "": // empty before Byzantium: receipts held a state root
		default:
			return nil, bad("receipt status %q", e.status)
		}
		if e.gasUsed == "" {
			return nil, bad("transaction %s has no receipt", tx.Hash)
		}
		gas, err := amount(e.gasUsed)
		if err != nil {
			return nil, bad("gas used: %v", err)
		}
		price, err := amount(e.price)
		if err != nil {
			return nil, bad("gas price: %v", err)
		}
		tx.Fee = gas.MulDiv(price, chain.NewAmount(1))
		if len(tx.Transfers) == 1 && tx.Transfers[0].To == "" {
			c, err := address(e.contract)
			if err != nil || c == "" {
				return nil, bad("contract creation with value but no receipt contract address")
			}
			tx.Transfers[0].To = c
		}
	}
	if err := s.traces(b, index); err != nil {
		return nil, err
	}
	if err := s.tokens(b, index); err != nil {
		return nil, err
	}
	slices.SortFunc(b.Txs, func(x, y chain.Tx) int { return x.Index - y.Index })
	for i := range b.Txs {
		if b.Txs[i].Index != i {
			return nil, &LineError{File: tf.path, Line: lines[0], Err: fmt.Errorf("block %d: transaction indexes are not 0..%d", h, len(b.Txs)-1)}
		}
		for j := range b.Txs[i].Transfers {
			t := &b.Txs[i].Transfers[j]
			t.Chain, t.Tx, t.Block, t.Time = chain.Ethereum, b.Txs[i].Hash, h, b.Time
		}
	}
	return b, nil
}

// traces adds internal value transfers: calls below the top level that
// succeeded (ethereum-etl's status is 0 when the call or any call above it
// reverted) and moved value.
func (s *Source) traces(b *chain.Block, index map[string]int) error {
	f, ok := s.files[Traces]
	if !ok {
		return nil
	}
	rows, lines, err := f.take(b.Height)
	if err != nil {
		return err
	}
	pos := make(map[int]uint32)
	for k, row := range rows {
		bad := func(format string, args ...any) error {
			return &LineError{File: f.path, Line: lines[k], Err: fmt.Errorf(format, args...)}
		}
		get := func(name string) string { v, _ := f.get(row, name); return v }
		if get("trace_type") == "reward" || get("trace_type") == "genesis" || get("trace_type") == "daofork" {
			continue
		}
		th, err := hash32(get("transaction_hash"))
		i, ok := index[th]
		if err != nil || !ok {
			return bad("trace of transaction %q, which block %d does not have", get("transaction_hash"), b.Height)
		}
		if get("trace_address") == "" { // the transaction itself
			continue
		}
		pos[i]++
		tx := &b.Txs[i]
		if tx.Failed || get("status") == "0" || get("error") != "" {
			continue
		}
		switch get("trace_type") {
		case "call":
			if ct := get("call_type"); ct != "call" && ct != "" {
				continue
			}
		case "create", "create2", "suicide", "selfdestruct":
		default:
			return bad("trace_type %q", get("trace_type"))
		}
		v, err := amount(get("value"))
		if err != nil {
			return bad("value: %v", err)
		}
		from, err1 := address(get("from_address"))
		to, err2 := address(get("to_address"))
		if err := errors.Join(err1, err2); err != nil {
			return bad("%v", err)
		}
		if v.IsZero() || to == "" {
			continue
		}
		tx.Transfers = append(tx.Transfers, chain.Transfer{Kind: chain.KindInternal, Pos: pos[i], From: from, To: to, Asset: chain.Native, Amount: v})
	}
	return nil
}

// tokens adds ERC-20 transfers.
func (s *Source) tokens(b *chain.Block, index map[string]int) error {
	f, ok := s.files[TokenTransfers]
	if !ok {
		return nil
	}
	rows, lines, err := f.take(b.Height)
	if err != nil {
		return err
	}
	for k, row := range rows {
		bad := func(format string, args ...any) error {
			return &LineError{File: f.path, Line: lines[k], Err: fmt.Errorf(format, args...)}
		}
		get := func(name string) string { v, _ := f.get(row, name); return v }
		th, err := hash32(get("transaction_hash"))
		i, ok := index[th]
		if err != nil || !ok {
			return bad("token transfer of transaction %q, which block %d does not have", get("transaction_hash"), b.Height)
		}
		li, err := strconv.ParseUint(get("log_index"), 10, 32)
		if err != nil {
			return bad("log_index %q", get("log_index"))
		}
		token, err1 := address(get("token_address"))
		from, err2 := address(get("from_address"))
		to, err3 := address(get("to_address"))
		if err := errors.Join(err1, err2, err3); err != nil || token == "" || from == "" || to == "" {
			return bad("addresses: %v", err)
		}
		v, err := amount(get("value"))
		if err != nil {
			return bad("value: %v", err)
		}
		if b.Txs[i].Failed {
			return bad("token transfer in failed transaction %s", th)
		}
		b.Txs[i].Transfers = append(b.Txs[i].Transfers, chain.Transfer{Kind: chain.KindToken, Pos: uint32(li), From: from, To: to, Asset: chain.Asset(token), Amount: v})
	}
	return nil
}

// hash32 checks a 32-byte hex hash and returns it in lower case.
func hash32(s string) (string, error) {
	s = strings.ToLower(s)
	if len(s) != 66 || !strings.HasPrefix(s, "0x") || !isHex(s[2:]) {
		return "", fmt.Errorf("%q is not a 32-byte hex hash", s)
	}
	return s, nil
}

// address checks a hex address and returns it in lower case; empty is
// allowed (no recipient).
func address(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	s = strings.ToLower(s)
	if len(s) != 42 || !strings.HasPrefix(s, "0x") || !isHex(s[2:]) {
		return "", fmt.Errorf("%q is not a hex address", s)
	}
	return s, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// amount parses a base-unit integer. BigQuery writes NUMERIC columns
// with a ".0" or in exponent form; only exact integers are accepted.
func amount(s string) (chain.Amount, error) {
	if s == "" {
		return chain.Amount{}, nil
	}
	s = strings.TrimSuffix(s, ".0")
	a, err := chain.ParseAmount(s)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("%q is not an integer amount in base units", s)
	}
	return a, nil
}

// parseTime reads unix seconds (ethereum-etl) or BigQuery's
// "2006-01-02 15:04:05 UTC".
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05 MST", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither unix seconds nor a UTC date and time", s)
}
