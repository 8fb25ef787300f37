// Package thorchain reads THORChain's cross-chain intents: the memos of
// deposits into its vaults (swap, liquidity, loans, trade accounts ...)
// and of its payouts (OUT:, REFUND:), and the Deposit events of its EVM
// router, so that a trace can follow funds swapped through THORChain from
// one chain into another.
//
// The memo grammar is THORChain's (docs "Transaction Memos", thornode
// x/thorchain/memo): FUNCTION:PARAM1:PARAM2..., functions abbreviated
// (s, =, +, a, -, wd ...), assets as CHAIN.SYMBOL[-CONTRACT] (CHAIN/SYMBOL
// synths, CHAIN~SYMBOL trade assets, CHAIN-SYMBOL secured assets) or
// their one-letter short codes, amounts in 1e8 units, optionally in
// scientific notation. A memo that does not parse is an error that says
// why; nothing is guessed.
package thorchain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// Kind is what a memo asks for.
type Kind int

// The memo kinds.
const (
	Swap Kind = iota + 1
	LimitSwap
	AddLiquidity
	WithdrawLiquidity
	Out
	Refund
	LoanOpen
	LoanRepay
	TradeAdd
	TradeWithdraw
	SecureAdd
	SecureWithdraw
	RunePoolAdd
	RunePoolWithdraw
	Bond
	Unbond
	Leave
	Donate
	Reserve
	Migrate
	Ragnarok
	Consolidate
	Noop
	Name
)

var kindNames = map[Kind]string{
	Swap: "SWAP", LimitSwap: "=<", AddLiquidity: "ADD", WithdrawLiquidity: "WITHDRAW", Out: "OUT", Refund: "REFUND",
	LoanOpen: "LOAN+", LoanRepay: "LOAN-", TradeAdd: "TRADE+", TradeWithdraw: "TRADE-", SecureAdd: "SECURE+",
	SecureWithdraw: "SECURE-", RunePoolAdd: "POOL+", RunePoolWithdraw: "POOL-", Bond: "BOND", Unbond: "UNBOND",
	Leave: "LEAVE", Donate: "DONATE", Reserve: "RESERVE", Migrate: "MIGRATE", Ragnarok: "RAGNAROK",
	Consolidate: "CONSOLIDATE", Noop: "NOOP", Name: "~",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// functions maps the function names and their abbreviations, in lower
// case, to kinds.
var functions = map[string]Kind{
	"swap": Swap, "s": Swap, "=": Swap, "=<": LimitSwap,
	"add": AddLiquidity, "a": AddLiquidity, "+": AddLiquidity,
	"withdraw": WithdrawLiquidity, "wd": WithdrawLiquidity, "-": WithdrawLiquidity,
	"out": Out, "refund": Refund,
	"loan+": LoanOpen, "$+": LoanOpen, "loan-": LoanRepay, "$-": LoanRepay,
	"trade+": TradeAdd, "trade-": TradeWithdraw, "secure+": SecureAdd, "secure-": SecureWithdraw,
	"pool+": RunePoolAdd, "pool-": RunePoolWithdraw,
	"bond": Bond, "unbond": Unbond, "leave": Leave,
	"donate": Donate, "d": Donate, "reserve": Reserve,
	"migrate": Migrate, "ragnarok": Ragnarok, "consolidate": Consolidate, "noop": Noop,
	"name": Name, "n": Name, "~": Name,
}

// AssetKind tells native (layer 1) assets from THORChain's own forms.
type AssetKind int

// The asset kinds and their separators.
const (
	Native  AssetKind = iota // CHAIN.SYMBOL
	Synth                    // CHAIN/SYMBOL
	Trade                    // CHAIN~SYMBOL
	Secured                  // CHAIN-SYMBOL
)

var separators = [...]byte{Native: '.', Synth: '/', Trade: '~', Secured: '-'}

// Asset is a THORChain asset: CHAIN.SYMBOL[-CONTRACT].
type Asset struct {
	Kind     AssetKind
	Chain    string // upper case: BTC, ETH, BSC, TRON ...
	Symbol   string // ticker, upper case: BTC, ETH, USDT ...
	Contract string // the token contract as written (it may be shortened: fuzzy matching)
	Short    string // the short code the memo used ("b", "e" ...), if any
}

// shortCodes are THORChain's one- and two-letter asset abbreviations.
var shortCodes = map[string]Asset{
	"a": {Chain: "AVAX", Symbol: "AVAX"}, "b": {Chain: "BTC", Symbol: "BTC"}, "c": {Chain: "BCH", Symbol: "BCH"},
	"d": {Chain: "DOGE", Symbol: "DOGE"}, "e": {Chain: "ETH", Symbol: "ETH"}, "f": {Chain: "BASE", Symbol: "ETH"},
	"g": {Chain: "GAIA", Symbol: "ATOM"}, "l": {Chain: "LTC", Symbol: "LTC"}, "n": {Chain: "BNB", Symbol: "BNB"},
	"r": {Chain: "THOR", Symbol: "RUNE"}, "s": {Chain: "BSC", Symbol: "BNB"}, "x": {Chain: "XRP", Symbol: "XRP"},
	"tr": {Chain: "TRON", Symbol: "TRX"},
}

// ParseAsset reads an asset in THORChain notation.
func ParseAsset(s string) (Asset, error) {
	if s == "" {
		return Asset{}, errors.New("empty asset")
	}
	if a, ok := shortCodes[strings.ToLower(s)]; ok {
		a.Short = strings.ToLower(s)
		return a, nil
	}
	i := strings.IndexAny(s, "./~-")
	if i <= 0 {
		return Asset{}, fmt.Errorf("asset %q: want CHAIN.SYMBOL (or a short code such as b, e, r)", s)
	}
	a := Asset{Chain: strings.ToUpper(s[:i])}
	switch s[i] {
	case '.':
		a.Kind = Native
	case '/':
		a.Kind = Synth
	case '~':
		a.Kind = Trade
	case '-':
		a.Kind = Secured
	}
	rest := s[i+1:]
	sym, contract, _ := strings.Cut(rest, "-")
	if sym == "" {
		return Asset{}, fmt.Errorf("asset %q: no symbol", s)
	}
	if strings.ContainsAny(sym, "./~") || strings.ContainsAny(contract, "./~-") {
		return Asset{}, fmt.Errorf("asset %q: more than one chain separator", s)
	}
	if !alnum(a.Chain) || !alnum(sym) || (contract != "" && !alnum(contract)) {
		return Asset{}, fmt.Errorf("asset %q: chain, symbol and contract are letters and digits", s)
	}
	if strings.HasSuffix(rest, "-") {
		return Asset{}, fmt.Errorf("asset %q: empty contract", s)
	}
	a.Symbol, a.Contract = strings.ToUpper(sym), contract
	return a, nil
}

func (a Asset) String() string {
	if a.Short != "" {
		return a.Short
	}
	s := a.Chain + string(separators[a.Kind]) + a.Symbol
	if a.Contract != "" {
		s += "-" + a.Contract
	}
	return s
}

func alnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Memo is a parsed memo. Fields a kind does not use are zero.
type Memo struct {
	Kind Kind
	// Function is the function as written ("=", "SWAP", "s" ...).
	Function string
	Asset    Asset  // swap target, pool, loan asset, donation pool
	HasAsset bool   // an asset was given (a withdrawal may name none)
	Dest     string // destination address or THORName
	Refund   string // refund address (DEST/REFUND)
	// Limit is the least output (swap LIM, loan MINOUT) in 1e8 units.
	Limit    chain.Amount
	HasLimit bool
	// Streaming swap parameters: LIM/INTERVAL/QUANTITY.
	Streaming bool
	Interval  uint64
	Quantity  uint64
	// Affiliates and their fees in basis points, paired.
	Affiliates   []string
	AffiliateBps []uint64
	// DEX aggregator extension of a swap: aggregator, final token, its
	// minimum out (as written).
	Aggregator, AggTarget, AggLimit string
	TxID                            string // OUT, REFUND: the inbound transaction
	Height                          uint64 // MIGRATE, RAGNAROK
	BasisPoints                     uint64 // WITHDRAW, POOL-, ...
	HasBasisPoints                  bool
	// Args holds the parameters of the kinds read as opaque (BOND,
	// UNBOND, LEAVE, NOOP, ~ THORName ...), as written.
	Args []string
}

// ErrMemo is the error of every memo that does not parse.
var ErrMemo = errors.New("invalid THORChain memo")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMemo, fmt.Sprintf(format, args...))
}

// maxMemo is THORChain's memo size limit: longer memos are ignored by
// the network, so no deposit carries one.
const maxMemo = 250

// Parse reads a memo.
func Parse(s string) (Memo, error) {
	if len(s) > maxMemo {
		return Memo{}, bad("%d bytes, over THORChain's limit of %d", len(s), maxMemo)
	}
	if s == "" {
		return Memo{}, bad("empty")
	}
	parts := strings.Split(s, ":")
	fn := parts[0]
	k, ok := functions[strings.ToLower(fn)]
	if !ok {
		return Memo{}, bad("unknown function %q", fn)
	}
	m := Memo{Kind: k, Function: fn}
	args := parts[1:]
	var err error
	switch k {
	case Swap, LimitSwap:
		err = m.swap(args)
	case AddLiquidity:
		err = m.add(args)
	case WithdrawLiquidity:
		err = m.withdraw(args)
	case Out, Refund:
		err = m.txid(args)
	case LoanOpen, LoanRepay:
		err = m.loan(args)
	case TradeAdd, TradeWithdraw, SecureAdd, SecureWithdraw:
		if len(args) != 1 || args[0] == "" {
			return Memo{}, bad("%s takes one address", k)
		}
		m.Dest = args[0]
	case RunePoolAdd:
		err = m.affiliates(args, 0)
	case RunePoolWithdraw:
		if len(args) < 1 {
			return Memo{}, bad("POOL- takes basis points")
		}
		if m.BasisPoints, err = bps(args[0], 10000); err == nil {
			m.HasBasisPoints = true
			err = m.affiliates(args[1:], 0)
		}
	case Donate:
		if len(args) != 1 {
			return Memo{}, bad("DONATE takes a pool")
		}
		m.Asset, err = ParseAsset(args[0])
		m.HasAsset = err == nil
	case Reserve, Consolidate:
		if len(args) != 0 {
			return Memo{}, bad("%s takes no parameters", k)
		}
	case Migrate, Ragnarok:
		if len(args) != 1 {
			return Memo{}, bad("%s takes a block height", k)
		}
		if m.Height, err = strconv.ParseUint(args[0], 10, 64); err != nil {
			return Memo{}, bad("%s height %q is not a number", k, args[0])
		}
	default: // BOND, UNBOND, LEAVE, NOOP, THORName: kept as written
		if (k == Bond || k == Unbond || k == Leave) && (len(args) == 0 || args[0] == "") {
			return Memo{}, bad("%s needs a node address", k)
		}
		m.Args = args
	}
	if err != nil {
		if !errors.Is(err, ErrMemo) {
			err = bad("%v", err)
		}
		return Memo{}, err
	}
	return m, nil
}

// swap reads ASSET:DESTADDR[/REFUND]:LIM[/INTERVAL/QUANTITY]:AFFILIATE:FEE
// and the aggregator extension :AGGREGATOR:TARGET:LIMIT.
func (m *Memo) swap(args []string) error {
	if len(args) < 1 || args[0] == "" {
		return bad("%s needs an asset", m.Kind)
	}
	if len(args) > 8 {
		return bad("%s has %d parameters, at most 8", m.Kind, len(args))
	}
	var err error
	if m.Asset, err = ParseAsset(args[0]); err != nil {
		return bad("%v", err)
	}
	m.HasAsset = true
	if len(args) > 1 {
		dest, refund, two := strings.Cut(args[1], "/")
		if two && (refund == "" || strings.Contains(refund, "/")) {
			return bad("destination %q: want DEST or DEST/REFUND", args[1])
		}
		m.Dest, m.Refund = dest, refund
	}
	if len(args) > 2 && args[2] != "" {
		lim := strings.Split(args[2], "/")
		switch len(lim) {
		case 1:
		case 3:
			m.Streaming = true
			if m.Interval, err = strconv.ParseUint(lim[1], 10, 64); err != nil {
				return bad("streaming interval %q is not a number", lim[1])
			}
			if m.Quantity, err = strconv.ParseUint(lim[2], 10, 64); err != nil {
				return bad("streaming quantity %q is not a number", lim[2])
			}
		default:
			return bad("limit %q: want LIM or LIM/INTERVAL/QUANTITY", args[2])
		}
		if lim[0] != "" {
			if m.Limit, err = sciAmount(lim[0]); err != nil {
				return bad("limit: %v", err)
			}
			m.HasLimit = true
		}
	}
	if len(args) > 3 {
		if err := m.affiliates(args[3:min(len(args), 5)], 0); err != nil {
			return err
		}
	}
	if len(args) > 5 {
		m.Aggregator = args[5]
		if len(args) > 6 {
			m.AggTarget = args[6]
		}
		if len(args) > 7 {
			m.AggLimit = args[7]
			if m.AggLimit != "" {
				if _, err := sciAmount(m.AggLimit); err != nil {
					return bad("aggregator limit: %v", err)
				}
			}
		}
		if m.Aggregator == "" && (m.AggTarget != "" || m.AggLimit != "") {
			return bad("aggregator target without an aggregator")
		}
	}
	if m.Dest == "" && m.Kind == LimitSwap {
		return bad("a limit swap needs a destination")
	}
	return nil
}

// affiliates reads AFFILIATE:FEE, each a list separated by "/" (several
// affiliates, one fee each, or one fee for all).
func (m *Memo) affiliates(args []string, _ int) error {
	if len(args) == 0 {
		return nil
	}
	if len(args) > 2 {
		return bad("%d parameters after the affiliate, want AFFILIATE:FEE", len(args)-1)
	}
	if args[0] == "" {
		if len(args) == 2 && args[1] != "" {
			return bad("affiliate fee %q without an affiliate", args[1])
		}
		return nil
	}
	m.Affiliates = strings.Split(args[0], "/")
	for _, a := range m.Affiliates {
		if a == "" {
			return bad("empty affiliate in %q", args[0])
		}
	}
	var fees []string
	if len(args) == 2 && args[1] != "" {
		fees = strings.Split(args[1], "/")
	}
	if len(fees) != 0 && len(fees) != len(m.Affiliates) && len(fees) != 1 {
		return bad("%d affiliates but %d fees", len(m.Affiliates), len(fees))
	}
	for _, f := range fees {
		v, err := bps(f, 1000)
		if err != nil {
			return err
		}
		m.AffiliateBps = append(m.AffiliateBps, v)
	}
	return nil
}

// bps reads basis points up to max.
func bps(s string, max uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, bad("basis points %q are not a number", s)
	}
	if v > max {
		return 0, bad("%d basis points, over %d", v, max)
	}
	return v, nil
}

// add reads POOL:PAIREDADDR:AFFILIATE:FEE.
func (m *Memo) add(args []string) error {
	if len(args) < 1 || args[0] == "" {
		return bad("ADD needs a pool")
	}
	if len(args) > 4 {
		return bad("ADD has %d parameters, at most 4", len(args))
	}
	var err error
	if m.Asset, err = ParseAsset(args[0]); err != nil {
		return bad("%v", err)
	}
	m.HasAsset = true
	if len(args) > 1 {
		m.Dest = args[1]
	}
	if len(args) > 2 {
		return m.affiliates(args[2:], 0)
	}
	return nil
}

// withdraw reads POOL:BASISPOINTS:ASSET.
func (m *Memo) withdraw(args []string) error {
	if len(args) < 1 || args[0] == "" {
		return bad("WITHDRAW needs a pool")
	}
	if len(args) > 3 {
		return bad("WITHDRAW has %d parameters, at most 3", len(args))
	}
	var err error
	if m.Asset, err = ParseAsset(args[0]); err != nil {
		return bad("%v", err)
	}
	m.HasAsset = true
	if len(args) > 1 && args[1] != "" {
		if m.BasisPoints, err = bps(args[1], 10000); err != nil {
			return err
		}
		m.HasBasisPoints = true
	}
	if len(args) > 2 && args[2] != "" {
		a, err := ParseAsset(args[2])
		if err != nil {
			return bad("withdraw asset: %v", err)
		}
		m.Args = []string{a.String()}
	}
	return nil
}

// txid reads OUT:HASH and REFUND:HASH: the inbound transaction, 64 hex
// digits (THORChain writes them in upper case, without 0x).
func (m *Memo) txid(args []string) error {
	if len(args) != 1 {
		return bad("%s takes one transaction hash", m.Kind)
	}
	h := args[0]
	if len(h) != 64 {
		return bad("%s hash %q: want 64 hex digits", m.Kind, h)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return bad("%s hash %q is not hexadecimal", m.Kind, h)
		}
	}
	m.TxID = strings.ToUpper(h)
	return nil
}

// loan reads ASSET:DESTADDR:MINOUT:AFFILIATE:FEE.
func (m *Memo) loan(args []string) error {
	if len(args) < 2 || args[0] == "" || args[1] == "" {
		return bad("%s needs an asset and a destination", m.Kind)
	}
	if len(args) > 5 || m.Kind == LoanRepay && len(args) > 3 {
		return bad("%s has too many parameters", m.Kind)
	}
	var err error
	if m.Asset, err = ParseAsset(args[0]); err != nil {
		return bad("%v", err)
	}
	m.HasAsset, m.Dest = true, args[1]
	if len(args) > 2 && args[2] != "" {
		if m.Limit, err = sciAmount(args[2]); err != nil {
			return bad("minimum out: %v", err)
		}
		m.HasLimit = true
	}
	if len(args) > 3 {
		return m.affiliates(args[3:], 0)
	}
	return nil
}

// sciAmount reads an amount in 1e8 units, as an integer or in THORChain's
// scientific notation ("1e6", "544e6", "1.5e8"), exactly: a notation that
// names a fraction of a unit is refused.
func sciAmount(s string) (chain.Amount, error) {
	mant, exp, sci := strings.Cut(strings.ToLower(s), "e")
	if !sci {
		if !digits(s) {
			return chain.Amount{}, fmt.Errorf("%q is not an integer amount", s)
		}
		return chain.ParseAmount(s)
	}
	e, err := strconv.Atoi(exp)
	if err != nil || e < 0 || e > 70 || exp[0] == '+' || exp[0] == '-' {
		return chain.Amount{}, fmt.Errorf("%q: exponent %q", s, exp)
	}
	ip, fp, _ := strings.Cut(mant, ".")
	if !digits(ip) || (fp != "" && !digits(fp)) {
		return chain.Amount{}, fmt.Errorf("%q is not a number in scientific notation", s)
	}
	fp = strings.TrimRight(fp, "0")
	if len(fp) > e {
		return chain.Amount{}, fmt.Errorf("%q is not a whole number of units", s)
	}
	v := ip + fp + strings.Repeat("0", e-len(fp))
	return chain.ParseAmount(v)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the memo in THORChain's notation, with the function and
// parameters as parsed and amounts as integers: Parse(m.String()) gives
// m back.
func (m Memo) String() string {
	p := []string{m.Function}
	switch m.Kind {
	case Swap, LimitSwap:
		p = append(p, m.Asset.String(), join(m.Dest, m.Refund), m.limit())
		p = append(p, m.affString()...)
		if m.Aggregator != "" {
			p = append(p, m.Aggregator, m.AggTarget, m.AggLimit)
		}
	case AddLiquidity:
		p = append(p, m.Asset.String(), m.Dest)
		p = append(p, m.affString()...)
	case WithdrawLiquidity:
		p = append(p, m.Asset.String(), m.bpsString())
		if len(m.Args) > 0 {
			p = append(p, m.Args[0])
		}
	case Out, Refund:
		p = append(p, m.TxID)
	case LoanOpen, LoanRepay:
		p = append(p, m.Asset.String(), m.Dest, m.amountString())
		p = append(p, m.affString()...)
	case TradeAdd, TradeWithdraw, SecureAdd, SecureWithdraw:
		p = append(p, m.Dest)
	case RunePoolAdd:
		p = append(p, m.affString()...)
	case RunePoolWithdraw:
		p = append(p, m.bpsString())
		p = append(p, m.affString()...)
	case Donate:
		p = append(p, m.Asset.String())
	case Reserve, Consolidate:
	case Migrate, Ragnarok:
		p = append(p, strconv.FormatUint(m.Height, 10))
	default:
		p = append(p, m.Args...)
	}
	return strings.TrimRight(strings.Join(p, ":"), ":")
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "/" + b
}

func (m Memo) amountString() string {
	if !m.HasLimit {
		return ""
	}
	return m.Limit.String()
}

func (m Memo) limit() string {
	s := m.amountString()
	if m.Streaming {
		s += "/" + strconv.FormatUint(m.Interval, 10) + "/" + strconv.FormatUint(m.Quantity, 10)
	}
	return s
}

func (m Memo) bpsString() string {
	if !m.HasBasisPoints {
		return ""
	}
	return strconv.FormatUint(m.BasisPoints, 10)
}

func (m Memo) affString() []string {
	if len(m.Affiliates) == 0 {
		return nil
	}
	fees := make([]string, len(m.AffiliateBps))
	for i, f := range m.AffiliateBps {
		fees[i] = strconv.FormatUint(f, 10)
	}
	return []string{strings.Join(m.Affiliates, "/"), strings.Join(fees, "/")}
}
