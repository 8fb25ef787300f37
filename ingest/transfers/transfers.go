// Package transfers reads account-model transfer lists (the CSV files
// investigators exchange: ethereum-etl's token transfers, Etherscan's
// and Tronscan-style exports, Dune query results) as a stream of blocks
// of Ethereum-family or Tron transfers.
//
// Columns are found by header name, under their common spellings:
// tx_hash, block_number, block_timestamp, from_address, to_address, asset
// and value, with Etherscan's (Txhash, Blockno, UnixTimestamp, From, To,
// Value_IN(ETH), TokenValue, ContractAddress, TokenSymbol ...) and Dune's
// (hash, block_time, from, to, contract_address, amount_raw ...) names.
// Other columns are ignored. Files are read side by side, each in
// ascending block order; within a block, rows may come in any order and
// are sorted into transactions deterministically.
package transfers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
)

// Options configure a Source.
type Options struct {
	// Chain is chain.Ethereum (any EVM network) or chain.Tron.
	Chain chain.Chain
	// ID names the source in the chain's tip; default "<chain>:transfers-csv".
	ID string
	// Asset is the asset of every row of files without an asset column
	// ("native", a token contract, or a symbol the token table knows).
	// Files without an asset column are refused unless it is set, so that
	// a token list is never read as native coin.
	Asset string
	// Tokens resolves symbols and gives decimals; nil means KnownTokens.
	Tokens *Tokens
	// Decimals, if set, are the decimals of amounts written in whole
	// units for tokens the table does not know; without it such an amount
	// is an error, never a guess.
	Decimals *int
	// NativeSymbol is the symbol rows use for the chain's coin (default
	// ETH or TRX; BNB for a BSC export, say).
	NativeSymbol string
}

// LineError is a bad row: the file, its line and what is wrong.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// field is a column the reader understands.
type field int

const (
	fTx field = iota
	fBlock
	fBlockHash
	fTimeUnix // unix seconds (or milliseconds)
	fTimeText // a date and time
	fFrom
	fTo
	fAsset    // "native", a contract or a symbol
	fContract // a token contract
	fSymbol
	fValue      // base units
	fValueWhole // whole units
	fValueIn    // Etherscan's native value columns, whole units
	fValueOut
	fLogIndex
	fTxIndex
	fStatus
	fErrCode
	nFields
)

var fieldNames = [nFields]string{"tx_hash", "block_number", "block_hash", "block_timestamp", "block_timestamp", "from_address", "to_address", "asset", "contract_address", "token_symbol", "value", "value", "value_in", "value_out", "log_index", "transaction_index", "status", "errcode"}

// aliases maps normalised header names to fields, in order of
// preference where one field has several candidates.
var aliases = map[string]field{
	"tx_hash": fTx, "transaction_hash": fTx, "txhash": fTx, "hash": fTx, "evt_tx_hash": fTx,
	"tx_id": fTx, "txid": fTx, "transaction_id": fTx, "txn hash": fTx, "transaction hash": fTx,
	"block_number": fBlock, "blockno": fBlock, "block": fBlock, "block_num": fBlock, "blocknumber": fBlock,
	"evt_block_number": fBlock, "block_height": fBlock, "block number": fBlock,
	"block_hash": fBlockHash, "blockhash": fBlockHash,
	"block_timestamp": fTimeUnix, "unixtimestamp": fTimeUnix, "timestamp": fTimeUnix, "timestamp_unix": fTimeUnix,
	"block_time": fTimeText, "evt_block_time": fTimeText, "datetime (utc)": fTimeText, "datetime": fTimeText,
	"date_time": fTimeText, "time": fTimeText, "date time (utc)": fTimeText,
	"from_address": fFrom, "from": fFrom, "sender": fFrom, "from address": fFrom,
	"to_address": fTo, "to": fTo, "receiver": fTo, "recipient": fTo, "to address": fTo,
	"asset": fAsset, "currency": fAsset,
	"contract_address": fContract, "contractaddress": fContract, "token_address": fContract, "token_contract": fContract,
	"token_symbol": fSymbol, "tokensymbol": fSymbol, "symbol": fSymbol,
	"value": fValue, "amount_raw": fValue, "raw_amount": fValue, "value_raw": fValue,
	"tokenvalue": fValueWhole, "amount": fValueWhole, "quantity": fValueWhole, "token_value": fValueWhole,
	"log_index": fLogIndex, "evt_index": fLogIndex, "logindex": fLogIndex,
	"transaction_index": fTxIndex, "tx_index": fTxIndex, "transactionindex": fTxIndex,
	"status": fStatus, "receipt_status": fStatus, "tx_status": fStatus, "success": fStatus,
	"errcode": fErrCode, "iserror": fErrCode, "is_error": fErrCode,
}

func normHeader(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// columns maps fields to column indexes (-1 if absent).
type columns [nFields]int

func findColumns(head []string) (columns, error) {
	var c columns
	for i := range c {
		c[i] = -1
	}
	for i, h := range head {
		n := normHeader(h)
		f, ok := aliases[n]
		switch {
		case ok:
		case strings.HasPrefix(n, "value_in("):
			f = fValueIn
		case strings.HasPrefix(n, "value_out("):
			f = fValueOut
		default:
			continue
		}
		if c[f] >= 0 {
			// A second spelling of a field: the first one wins, except
			// that a raw amount beats a normalised one by its own field.
			continue
		}
		c[f] = i
	}
	for _, f := range []field{fTx, fBlock, fFrom, fTo} {
		if c[f] < 0 {
			return c, fmt.Errorf("no %s column (header: %s)", fieldNames[f], strings.Join(head, ","))
		}
	}
	if c[fTimeUnix] < 0 && c[fTimeText] < 0 {
		return c, fmt.Errorf("no block_timestamp column (or block_time, UnixTimestamp, DateTime (UTC)): transfers are kept by time")
	}
	if c[fValue] < 0 && c[fValueWhole] < 0 && (c[fValueIn] < 0 || c[fValueOut] < 0) {
		return c, fmt.Errorf("no value column (value, amount_raw, TokenValue, amount, or Value_IN and Value_OUT)")
	}
	return c, nil
}

// row is one parsed transfer.
type row struct {
	line     int
	block    uint64
	tx       string
	txIndex  int    // -1 if not given
	logIndex int    // -1 if not given
	key      uint64 // the hash's first 8 digits, which order rows as tx does
	t        xfer
	failed   bool
	hash     string // block hash, if given
	when     time.Time
}

// xfer is what a row moves; the block, transaction and position are
// added when the block is built.
type xfer struct {
	kind     chain.TransferKind
	from, to string
	asset    chain.Asset
	amount   chain.Amount
}

// file is one export being read, one block's rows at a time.
type file struct {
	s    *Source
	path string
	r    io.Reader
	f    io.Closer // nil for a reader the caller owns
	sp   *splitter
	col  columns
	size int64
	read *atomic.Int64
	line int
	next row // the next row, not yet taken
	eof  bool
	// The last block time read, as written and parsed: a block's rows
	// repeat it.
	lastTime   string
	lastParsed time.Time
	// native is true for Etherscan's native exports (Value_IN/Value_OUT):
	// their ContractAddress column is a contract the transaction created.
	native bool
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

// Source is a block stream over transfer exports. It implements
// ingest.StreamSource.
type Source struct {
	o              Options
	files          []*file
	last           *chain.Block
	parse          func(string) (string, error)
	cache          map[string]string // addresses already checked, raw to canonical
	native         string            // the native coin's symbol, upper case
	nativeDecimals int
	// Buffers reused from block to block.
	rows                 []row
	from                 []*file
	order, txOf          []int
	start, members, fill []int
	byTx                 map[string]int
	assets               map[string]chain.Asset // token contracts seen, interned
	memo                 [4]assetMemo
	memoNext             int

	// Blocks are read ahead on a goroutine of their own, started by the
	// first Next, so that parsing runs beside what the caller does with
	// the blocks (the bulk loader's encoding).
	ahead     chan *chain.Block
	stop      chan struct{}
	stopOnce  sync.Once
	final     error // what Next says once ahead is closed
	first     uint64
	haveFirst bool
}

// readAhead is how many blocks the reading goroutine may be ahead of
// Next: more than a batch of RunStream's, so that it goes on parsing
// while a batch is stored.
const readAhead = 256

// maxCache bounds the addresses remembered as checked.
const maxCache = 1 << 20

// Open opens transfer exports of one chain. Each file must be sorted by
// block number; the files are merged by block.
func Open(o Options, paths ...string) (*Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no files")
	}
	var in []Input
	closeAll := func() {
		for _, i := range in {
			i.R.(io.Closer).Close()
		}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, err
		}
		in = append(in, Input{Name: p, R: f})
		st, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, err
		}
		in[len(in)-1].Size = st.Size()
	}
	s, err := New(o, in...)
	if err != nil {
		closeAll()
		return nil, err
	}
	for _, f := range s.files {
		f.f = f.r.(io.Closer)
	}
	return s, nil
}

// Input is one export to read: its name for errors, its contents, and
// its size in bytes for progress (0 if unknown).
type Input struct {
	Name string
	R    io.Reader
	Size int64
}

// New reads exports from readers, which the caller closes.
func New(o Options, inputs ...Input) (*Source, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no exports")
	}
	s := &Source{o: o, cache: make(map[string]string)}
	switch o.Chain {
	case chain.Ethereum:
		s.parse = func(a string) (string, error) {
			ad, err := eth.Codec{}.Parse(a)
			return ad.Value, err
		}
		s.native, s.nativeDecimals = "ETH", 18
	case chain.Tron:
		s.parse = func(a string) (string, error) {
			ad, err := tron.Codec{}.Parse(a)
			return ad.Value, err
		}
		s.native, s.nativeDecimals = "TRX", 6
	default:
		return nil, fmt.Errorf("chain %q: transfer exports are read for EVM chains and tron", o.Chain)
	}
	if o.NativeSymbol != "" {
		s.native = strings.ToUpper(o.NativeSymbol)
	}
	if s.o.Tokens == nil {
		s.o.Tokens = KnownTokens()
	}
	if s.o.ID == "" {
		s.o.ID = string(o.Chain) + ":transfers-csv"
	}
	for _, in := range inputs {
		fl, err := s.openFile(in)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, fl)
	}
	s.first, s.haveFirst = s.head()
	return s, nil
}

func (s *Source) openFile(in Input) (*file, error) {
	path := in.Name
	fl := &file{s: s, path: path, r: in.R, size: in.Size, read: new(atomic.Int64)}
	fl.sp = newSplitter(countingReader{in.R, fl.read})
	head, line, err := fl.sp.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", path)
		}
		return nil, fmt.Errorf("%s:%d: header: %w", path, line, err)
	}
	head = slices.Clone(head)
	fl.line = line
	if fl.col, err = findColumns(head); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fl.native = fl.col[fValueIn] >= 0 && fl.col[fValue] < 0 && fl.col[fValueWhole] < 0
	if !fl.native && fl.col[fAsset] < 0 && fl.col[fContract] < 0 && fl.col[fSymbol] < 0 && s.o.Asset == "" {
		return nil, fmt.Errorf("%s: no asset column (asset, contract_address, token_symbol ...): name the asset of every row (native, a contract or a symbol)", path)
	}
	if err := fl.advance(); err != nil {
		return nil, err
	}
	return fl, nil
}

// Close closes the files Open opened. It stops the goroutine reading ahead; a Source made by New must be
// closed too unless it was read to its end.
func (s *Source) Close() {
	if s.ahead != nil {
		s.stopOnce.Do(func() { close(s.stop) })
		for range s.ahead {
		}
	}
	for _, f := range s.files {
		if f.f != nil {
			f.f.Close()
		}
	}
}

// Chain is the chain the options named.
func (s *Source) Chain() chain.Chain { return s.o.Chain }

// ID names the source in the chain's tip.
func (s *Source) ID() string { return s.o.ID }

// First is the first block the exports hold, and false if they are empty.
func (s *Source) First() (uint64, bool) { return s.first, s.haveFirst }

// head is the lowest block the files have not given yet.
func (s *Source) head() (uint64, bool) {
	var first uint64
	ok := false
	for _, f := range s.files {
		if !f.eof && (!ok || f.next.block < first) {
			first, ok = f.next.block, true
		}
	}
	return first, ok
}

// Progress is bytes read over the files' total size.
func (s *Source) Progress() (done, total int64) {
	for _, f := range s.files {
		done += f.read.Load()
		total += f.size
	}
	return done, total
}

func (fl *file) errorf(line int, format string, args ...any) error {
	return &LineError{File: fl.path, Line: line, Err: fmt.Errorf(format, args...)}
}

// advance reads and parses the next row, checking that block numbers do
// not go back.
func (fl *file) advance() error {
	rec, line, err := fl.sp.read()
	if errors.Is(err, io.EOF) {
		fl.eof = true
		return nil
	}
	if err != nil {
		var se *splitError
		if errors.As(err, &se) {
			return fl.errorf(se.line, "%v", se.err)
		}
		return fl.errorf(line, "%v", err)
	}
	prev := fl.next.block
	had := fl.line > 1
	fl.line = line
	// Parsed in place: a row is large, and copying it costs.
	r := &fl.next
	if err := fl.parse(rec, r); err != nil {
		return &LineError{File: fl.path, Line: line, Err: err}
	}
	if had && r.block < prev {
		return fl.errorf(line, "block %d after block %d: the file must be sorted by block number", r.block, prev)
	}
	r.line = line
	return nil
}

func (fl *file) get(rec []string, f field) string {
	if i := fl.col[f]; i >= 0 {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// parse reads one record into r.
func (fl *file) parse(rec []string, r *row) error {
	s := fl.s
	*r = row{txIndex: -1, logIndex: -1}
	var err error
	bs := fl.get(rec, fBlock)
	if r.block, err = strconv.ParseUint(bs, 10, 64); err != nil {
		return fmt.Errorf("block_number %q: not a block number", bs)
	}
	if r.tx, err = s.txHash(fl.get(rec, fTx)); err != nil {
		return fmt.Errorf("tx_hash: %v", err)
	}
	r.key = hashKey(r.tx)
	if bh := fl.get(rec, fBlockHash); bh != "" {
		if r.hash, err = s.txHash(bh); err != nil {
			return fmt.Errorf("block_hash: %v", err)
		}
	}
	if r.when, err = fl.time(rec); err != nil {
		return err
	}
	from, to := fl.get(rec, fFrom), fl.get(rec, fTo)
	if fl.native && to == "" {
		// A contract creation: Etherscan names the new contract.
		to = fl.get(rec, fContract)
	}
	if r.t.from, err = s.address(from); err != nil || from == "" {
		return fmt.Errorf("from_address %q: %v", from, orEmpty(err))
	}
	if r.t.to, err = s.address(to); err != nil || to == "" {
		return fmt.Errorf("to_address %q: %v", to, orEmpty(err))
	}
	if v := fl.get(rec, fTxIndex); v != "" {
		if r.txIndex, err = strconv.Atoi(v); err != nil || r.txIndex < 0 {
			return fmt.Errorf("transaction_index %q: not an index", v)
		}
	}
	if v := fl.get(rec, fLogIndex); v != "" {
		if r.logIndex, err = strconv.Atoi(v); err != nil || r.logIndex < 0 || r.logIndex > 1<<31 {
			return fmt.Errorf("log_index %q: not an index", v)
		}
	}
	if r.failed, err = fl.failed(rec); err != nil {
		return err
	}
	decimals, err := fl.asset(rec, &r.t)
	if err != nil {
		return err
	}
	if r.t.amount, err = fl.amount(rec, decimals); err != nil {
		return err
	}
	return nil
}

// time reads the block time: unix seconds (milliseconds when the number
// is too large for seconds, as Tron's exports write it), RFC 3339, or the
// date and time forms of Dune, BigQuery and Etherscan, all in UTC.
func (fl *file) time(rec []string) (time.Time, error) {
	f := fTimeUnix
	if fl.col[f] < 0 {
		f = fTimeText
	}
	v := fl.get(rec, f)
	if v == fl.lastTime && v != "" {
		return fl.lastParsed, nil
	}
	t, err := fl.parseTime(rec)
	if err == nil {
		fl.lastTime, fl.lastParsed = v, t
	}
	return t, err
}

func (fl *file) parseTime(rec []string) (time.Time, error) {
	if v := fl.get(rec, fTimeUnix); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			if n >= 1e11 {
				return time.UnixMilli(n).UTC(), nil
			}
			return time.Unix(n, 0).UTC(), nil
		}
		if t, ok := parseDate(v); ok {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("block_timestamp %q: neither unix seconds nor a date and time", v)
	}
	v := fl.get(rec, fTimeText)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n >= 1e11 {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, ok := parseDate(v); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("block time %q: not a date and time (RFC 3339, \"2006-01-02 15:04:05[.000] UTC\" or unix seconds)", v)
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999 MST", // Dune, BigQuery
	"2006-01-02 15:04:05.999999999",     // Etherscan, in UTC
	"2006-01-02T15:04:05.999999999",
}

func parseDate(s string) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if strings.HasSuffix(l, "MST") && t.Location().String() != "UTC" {
				continue
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// failed tells a failed transaction's row: it moved no value.
func (fl *file) failed(rec []string) (bool, error) {
	if fl.col[fStatus] < 0 && fl.col[fErrCode] < 0 {
		return false, nil
	}
	if e := fl.get(rec, fErrCode); e != "" && e != "0" && !strings.EqualFold(e, "false") {
		return true, nil
	}
	v := fl.get(rec, fStatus)
	switch strings.ToLower(v) {
	case "", "1", "true", "success", "ok":
		return false, nil
	case "0", "false", "failed", "fail", "reverted", "revert":
		return true, nil
	}
	if strings.HasPrefix(strings.ToLower(v), "error") {
		return true, nil // Etherscan: "Error(0)"
	}
	return false, fmt.Errorf("status %q: neither success nor failure", v)
}

// asset sets the transfer's kind and asset and returns the decimals of
// amounts written in whole units (-1 if unknown).
func (fl *file) asset(rec []string, t *xfer) (int, error) {
	s := fl.s
	if fl.native {
		t.kind, t.asset = chain.KindNative, chain.Native
		return s.nativeDecimals, nil
	}
	contract := fl.get(rec, fContract)
	raw := fl.get(rec, fAsset)
	sym := fl.get(rec, fSymbol)
	// Exports move few assets, row after row: the answer for the last
	// few is remembered.
	for i := range s.memo {
		m := &s.memo[i]
		if m.set && m.contract == contract && m.raw == raw && m.sym == sym {
			t.kind, t.asset = m.kind, m.asset
			return m.decimals, nil
		}
	}
	d, err := fl.assetOf(contract, raw, sym, t)
	if err == nil {
		s.memo[s.memoNext] = assetMemo{set: true, contract: strings.Clone(contract), raw: strings.Clone(raw), sym: strings.Clone(sym), kind: t.kind, asset: t.asset, decimals: d}
		s.memoNext = (s.memoNext + 1) % len(s.memo)
	}
	return d, err
}

// assetMemo is the asset of rows naming contract, raw and sym.
type assetMemo struct {
	set                bool
	contract, raw, sym string
	kind               chain.TransferKind
	asset              chain.Asset
	decimals           int
}

// intern returns a token's asset as a string of its own, one per token:
// the row's string lies in a chunk of the file, which a long-lived copy
// would keep alive.
func (s *Source) intern(a string) chain.Asset {
	if v, ok := s.assets[a]; ok {
		return v
	}
	v := chain.Asset(strings.Clone(a))
	if s.assets == nil || len(s.assets) >= maxAssets {
		s.assets = make(map[string]chain.Asset)
	}
	s.assets[string(v)] = v
	return v
}

// maxAssets bounds the token contracts interned.
const maxAssets = 1 << 16

func (fl *file) assetOf(contract, raw, sym string, t *xfer) (int, error) {
	s := fl.s
	if contract == "" && raw == "" && sym == "" {
		raw = s.o.Asset
	}
	if contract == "" && raw != "" && !s.isNative(raw) {
		// The asset column holds a contract or a symbol.
		if c, err := s.address(raw); err == nil && c != "" {
			contract = c
		} else {
			sym, raw = raw, ""
		}
	}
	switch {
	case contract != "":
		if s.isNative(contract) {
			t.kind, t.asset = chain.KindNative, chain.Native
			return s.nativeDecimals, nil
		}
		c, err := s.address(contract)
		if err != nil {
			return 0, fmt.Errorf("contract_address: %v", err)
		}
		t.kind, t.asset = chain.KindToken, s.intern(c)
		if tok, ok := s.o.Tokens.ByAsset(s.o.Chain, t.asset); ok {
			return tok.Decimals, nil
		}
		return s.fallbackDecimals(), nil
	case raw != "" || (sym != "" && s.isNative(sym)):
		t.kind, t.asset = chain.KindNative, chain.Native
		return s.nativeDecimals, nil
	case sym != "":
		tok, err := s.o.Tokens.BySymbol(s.o.Chain, sym)
		if err != nil {
			return 0, err
		}
		t.kind, t.asset = chain.KindToken, tok.Asset
		return tok.Decimals, nil
	}
	return 0, errors.New("no asset: the row names neither a contract nor a symbol")
}

func (s *Source) fallbackDecimals() int {
	if s.o.Decimals != nil {
		return *s.o.Decimals
	}
	return -1
}

// isNative reports whether v names the chain's own coin.
func (s *Source) isNative(v string) bool {
	switch strings.ToLower(v) {
	case "native", "":
		return true
	case "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "0x0000000000000000000000000000000000000000":
		// Dune's and Allium's stand-ins for ETH.
		return s.o.Chain == chain.Ethereum
	case "_":
		return s.o.Chain == chain.Tron
	}
	return strings.EqualFold(v, s.native)
}

// amount reads the row's amount: base units from a value column, whole
// units from TokenValue, amount or Value_IN/OUT.
func (fl *file) amount(rec []string, decimals int) (chain.Amount, error) {
	switch {
	case fl.col[fValue] >= 0:
		v := fl.get(rec, fValue)
		if strings.Contains(strings.TrimSuffix(v, ".0"), ".") {
			if decimals < 0 {
				return chain.Amount{}, fmt.Errorf("value %q is a decimal amount of a token whose decimals are unknown: give its decimals or a token table", v)
			}
			a, err := WholeUnits(v, decimals)
			if err != nil {
				return a, fmt.Errorf("value: %v", err)
			}
			return a, nil
		}
		a, err := baseUnits(v)
		if err != nil {
			return a, fmt.Errorf("value: %v", err)
		}
		return a, nil
	case fl.col[fValueWhole] >= 0:
		v := fl.get(rec, fValueWhole)
		if decimals < 0 {
			return chain.Amount{}, fmt.Errorf("amount %q is in whole units of a token whose decimals are unknown: give its decimals or a token table", v)
		}
		a, err := WholeUnits(v, decimals)
		if err != nil {
			return a, fmt.Errorf("amount: %v", err)
		}
		return a, nil
	}
	in, out := fl.get(rec, fValueIn), fl.get(rec, fValueOut)
	ai, err1 := WholeUnits(orZero(in), decimals)
	ao, err2 := WholeUnits(orZero(out), decimals)
	if err := errors.Join(err1, err2); err != nil {
		return chain.Amount{}, fmt.Errorf("Value_IN/Value_OUT: %v", err)
	}
	if !ai.IsZero() && !ao.IsZero() {
		if ai.Cmp(ao) != 0 {
			return chain.Amount{}, fmt.Errorf("Value_IN %s and Value_OUT %s differ: one transfer moves one amount", in, out)
		}
	}
	if ai.IsZero() {
		return ao, nil
	}
	return ai, nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// address checks an address with the chain's codec, remembering the
// answer: exports name the same addresses over and over, and a Tron
// address costs two SHA-256 rounds to check.
func (s *Source) address(a string) (string, error) {
	if a == "" {
		return "", nil
	}
	if s.o.Chain == chain.Ethereum {
		// Checking lower-case hex costs less than a look-up; only mixed
		// case needs Keccak (EIP-55).
		if len(a) == 42 && a[0] == '0' && a[1] == 'x' {
			if lower, ok := isLowerHex(a[2:]); ok && lower {
				return a, nil
			}
		}
		return s.parse(a)
	}
	if c, ok := s.cache[a]; ok {
		return c, nil
	}
	c, err := s.parse(a)
	if err != nil {
		return "", err
	}
	if len(s.cache) >= maxCache {
		clear(s.cache)
	}
	// Strings of their own: a row's string keeps its chunk of the file
	// alive.
	k := strings.Clone(a)
	if c == a {
		c = k
	} else {
		c = strings.Clone(c)
	}
	s.cache[k] = c
	return c, nil
}

// txHash checks a 32-byte hash and returns it as the chain shows it:
// 0x and lower-case hex for Ethereum, lower-case hex for Tron.
func (s *Source) txHash(h string) (string, error) {
	b := strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	if len(b) != 64 {
		return "", fmt.Errorf("%q is not a 32-byte hex hash", h)
	}
	lower, ok := isLowerHex(b)
	if !ok {
		return "", fmt.Errorf("%q is not a 32-byte hex hash", h)
	}
	if lower && (s.o.Chain == chain.Tron && len(h) == 64 || s.o.Chain != chain.Tron && h[:2] == "0x") {
		return h, nil // already as the chain shows it
	}
	b = strings.ToLower(b)
	if s.o.Chain == chain.Tron {
		return b, nil
	}
	return "0x" + b, nil
}

// hashKey is the first 8 hex digits of a hash as the chain shows it (64
// digits, after 0x on Ethereum), as a number that orders hashes as their
// strings do: comparing it first spares most string comparisons.
func hashKey(h string) uint64 {
	if len(h) < 64 {
		return 0
	}
	d := h[len(h)-64:]
	return uint64(d[0])<<56 | uint64(d[1])<<48 | uint64(d[2])<<40 | uint64(d[3])<<32 |
		uint64(d[4])<<24 | uint64(d[5])<<16 | uint64(d[6])<<8 | uint64(d[7])
}

// isLowerHex reports whether s is hexadecimal, and whether it has no
// upper-case digits.
func isLowerHex(s string) (lower, ok bool) {
	var acc byte
	for i := 0; i < len(s); i++ {
		acc |= hexClass[s[i]]
	}
	return acc&hexUpper == 0, acc&hexBad == 0
}

// hexClass marks upper-case hex digits and bytes that are no hex digit,
// so that a run of digits is checked without a branch a byte.
const (
	hexUpper = 1
	hexBad   = 2
)

var hexClass = func() (t [256]byte) {
	for i := range t {
		t[i] = hexBad
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 0
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = 0
	}
	for c := 'A'; c <= 'F'; c++ {
		t[c] = hexUpper
	}
	return t
}()

// Next returns the next block. Heights the exports skip come back as empty
// blocks without a hash, since the store keeps a chain's blocks
// contiguous.
func (s *Source) Next(ctx context.Context) (*chain.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.ahead == nil {
		s.ahead, s.stop = make(chan *chain.Block, readAhead), make(chan struct{})
		go s.readAhead()
	}
	select {
	case b, ok := <-s.ahead:
		if !ok {
			return nil, s.final
		}
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readAhead reads blocks into s.ahead until the end, an error or Close.
func (s *Source) readAhead() {
	defer close(s.ahead)
	for {
		b, err := s.next()
		if err != nil {
			s.final = err
			return
		}
		select {
		case s.ahead <- b:
		case <-s.stop:
			s.final = errors.New("transfer exports closed")
			return
		}
	}
}

// next reads the next block.
func (s *Source) next() (*chain.Block, error) {
	h, ok := s.head()
	if !ok {
		return nil, io.EOF
	}
	if s.last != nil && h > s.last.Height+1 {
		s.last = &chain.Block{Chain: s.o.Chain, Height: s.last.Height + 1, Time: s.last.Time}
		return s.last, nil
	}
	b, err := s.read(h)
	if err != nil {
		return nil, err
	}
	s.last = b
	return b, nil
}

// read gathers block h's rows from every file and builds the block.
func (s *Source) read(h uint64) (*chain.Block, error) {
	rows, from := s.rows[:0], s.from[:0]
	defer func() { s.rows, s.from = rows[:0], from[:0] }()
	for _, f := range s.files {
		for !f.eof && f.next.block == h {
			rows, from = append(rows, f.next), append(from, f)
			if err := f.advance(); err != nil {
				return nil, err
			}
		}
	}
	b := &chain.Block{Chain: s.o.Chain, Height: h, Txs: make([]chain.Tx, 0, len(rows))}
	first := 0
	for i := range rows {
		r := &rows[i]
		if b.Time.IsZero() {
			b.Time, first = r.when, i
		} else if !r.when.Equal(b.Time) {
			return nil, from[i].errorf(r.line, "block %d at %s, but %s:%d gives it %s", h, r.when.Format(time.RFC3339), from[first].path, rows[first].line, b.Time.Format(time.RFC3339))
		}
		if r.hash != "" {
			if b.Hash != "" && b.Hash != r.hash {
				return nil, from[i].errorf(r.line, "block %d is %s, but another row gives %s", h, r.hash, b.Hash)
			}
			b.Hash = r.hash
		}
	}
	// Transactions in order of their index where the exports give it,
	// else of their hash; rows within a transaction by log index, then
	// by content, so that the order of rows in the files does not matter.
	order := s.order[:0]
	for i := range rows {
		order = append(order, i)
	}
	s.order = order
	slices.SortFunc(order, func(i, j int) int {
		x, y := &rows[i], &rows[j]
		// Rows with a transaction index first, by it; then by hash.
		if c := boolCmp(x.txIndex < 0, y.txIndex < 0); c != 0 {
			return c
		}
		if c := cmp.Compare(x.txIndex, y.txIndex); c != 0 {
			return c
		}
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		if c := strings.Compare(x.tx, y.tx); c != 0 {
			return c
		}
		return compareRows(x, y)
	})
	// Rows of one transaction are adjacent in that order unless some give
	// the transaction's index and others do not; the map joins those.
	// Each row's transaction, the rows of each in order (offsets into
	// members), and one backing array for all transfers: a few
	// allocations a block rather than several a transaction.
	if s.byTx == nil {
		s.byTx = make(map[string]int)
	}
	clear(s.byTx)
	txOf := s.txOf[:0]
	for _, i := range order {
		r := &rows[i]
		k, ok := s.byTx[r.tx]
		if !ok {
			k = len(b.Txs)
			s.byTx[r.tx] = k
			b.Txs = append(b.Txs, chain.Tx{Hash: r.tx, Index: k})
		}
		txOf = append(txOf, k)
	}
	s.txOf = txOf
	start := slices.Grow(s.start[:0], len(b.Txs)+1)[:len(b.Txs)+1]
	clear(start)
	for _, k := range txOf {
		start[k+1]++
	}
	for k := range b.Txs {
		start[k+1] += start[k]
	}
	members := slices.Grow(s.members[:0], len(order))[:len(order)]
	fill := slices.Grow(s.fill[:0], len(b.Txs))[:len(b.Txs)]
	copy(fill, start)
	for n, i := range order {
		k := txOf[n]
		members[fill[k]] = i
		fill[k]++
	}
	s.start, s.members, s.fill = start, members, fill
	all := make([]chain.Transfer, 0, len(rows))
	for k := range b.Txs {
		tx := &b.Txs[k]
		idx := members[start[k]:start[k+1]]
		for _, i := range idx {
			if rows[i].failed {
				tx.Failed = true
			}
		}
		if tx.Failed {
			for _, i := range idx {
				if !rows[i].failed {
					return nil, from[i].errorf(rows[i].line, "transaction %s is failed in another row but moves value here", tx.Hash)
				}
			}
			continue
		}
		n := len(all)
		var err error
		if all, err = transfersOf(tx, all, rows, idx); err != nil {
			r := &rows[idx[0]]
			return nil, from[idx[0]].errorf(r.line, "%v", err)
		}
		tx.Transfers = all[n:len(all):len(all)]
		for j := range tx.Transfers {
			t := &tx.Transfers[j]
			t.Chain, t.Tx, t.Block, t.Time = s.o.Chain, tx.Hash, h, b.Time
		}
	}
	return b, nil
}

// transfersOf gives tx the transfers of its rows, each with a kind and
// position unique per (kind, position) as the store needs: a token
// transfer with a log index keeps it; the other token transfers are
// numbered in their sorted order after the indexes used; the first native
// transfer is the transaction's own value (position 0) and any further
// ones internal transfers. An exact duplicate of a transfer with a log
// index (the same row in two merged exports) is dropped; a different
// transfer under the same log index is an error.
func transfersOf(tx *chain.Tx, out []chain.Transfer, rows []row, idx []int) ([]chain.Transfer, error) {
	if len(idx) == 1 {
		// One row, the common case: its own log index or position 0.
		r := &rows[idx[0]]
		t := chain.Transfer{Kind: r.t.kind, From: r.t.from, To: r.t.to, Asset: r.t.asset, Amount: r.t.amount}
		if t.Kind == chain.KindToken && r.logIndex >= 0 {
			t.Pos = uint32(r.logIndex)
		}
		return append(out, t), nil
	}
	used := make(map[uint32]int)
	for _, i := range idx {
		r := &rows[i]
		if r.t.kind != chain.KindToken || r.logIndex < 0 {
			continue
		}
		p := uint32(r.logIndex)
		if j, ok := used[p]; ok {
			if rows[j].t == r.t {
				continue
			}
			return out, fmt.Errorf("transaction %s: log index %d names two different transfers (lines %d and %d)", tx.Hash, p, rows[j].line, r.line)
		}
		used[p] = i
	}
	native, next := uint32(0), uint32(0)
	for _, i := range idx {
		r := &rows[i]
		t := chain.Transfer{Kind: r.t.kind, From: r.t.from, To: r.t.to, Asset: r.t.asset, Amount: r.t.amount}
		switch {
		case t.Kind == chain.KindNative && native == 0:
			t.Pos = 0
			native++
		case t.Kind == chain.KindNative:
			t.Kind, t.Pos = chain.KindInternal, native
			native++
		case r.logIndex >= 0:
			if used[uint32(r.logIndex)] != i {
				continue // the duplicate
			}
			t.Pos = uint32(r.logIndex)
		default:
			for {
				if _, ok := used[next]; !ok {
					break
				}
				next++
			}
			t.Pos = next
			next++
		}
		out = append(out, t)
	}
	return out, nil
}

// compareRows orders the rows of one transaction: by log index, then
// native before tokens, then by content.
func compareRows(x, y *row) int {
	if c := cmp.Compare(x.logIndex, y.logIndex); c != 0 {
		return c
	}
	if c := cmp.Compare(x.t.kind, y.t.kind); c != 0 {
		return c
	}
	if c := strings.Compare(string(x.t.asset), string(y.t.asset)); c != 0 {
		return c
	}
	if c := strings.Compare(x.t.from, y.t.from); c != 0 {
		return c
	}
	if c := strings.Compare(x.t.to, y.t.to); c != 0 {
		return c
	}
	if c := x.t.amount.Cmp(y.t.amount); c != 0 {
		return c
	}
	return cmp.Compare(x.line, y.line)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("empty")
	}
	return err
}
