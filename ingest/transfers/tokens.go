package transfers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// Token is a token's contract and decimals, so that amounts written in
// whole units and rows naming the token by symbol can be read exactly.
type Token struct {
	Chain    chain.Chain
	Asset    chain.Asset // the contract's canonical address
	Symbol   string
	Decimals int
}

// Tokens looks tokens up by contract and by symbol, per chain. The zero
// value is empty and ready to use.
type Tokens struct {
	byAsset  map[tokenKey]Token
	bySymbol map[tokenKey][]Token
}

type tokenKey struct {
	c chain.Chain
	k string
}

// Add adds t; a second token under the same contract replaces the first.
func (ts *Tokens) Add(t Token) {
	if ts.byAsset == nil {
		ts.byAsset = make(map[tokenKey]Token)
		ts.bySymbol = make(map[tokenKey][]Token)
	}
	ts.byAsset[tokenKey{t.Chain, string(t.Asset)}] = t
	if t.Symbol != "" {
		k := tokenKey{t.Chain, strings.ToUpper(t.Symbol)}
		ts.bySymbol[k] = append(ts.bySymbol[k], t)
	}
}

// ByAsset returns the token of a contract.
func (ts *Tokens) ByAsset(c chain.Chain, a chain.Asset) (Token, bool) {
	t, ok := ts.byAsset[tokenKey{c, string(a)}]
	return t, ok
}

// BySymbol returns the token a symbol names, and an error if the table
// holds none or several: symbols are not unique (scam tokens copy them),
// so a symbol is only as good as the table that resolves it.
func (ts *Tokens) BySymbol(c chain.Chain, sym string) (Token, error) {
	m := ts.bySymbol[tokenKey{c, strings.ToUpper(sym)}]
	switch len(m) {
	case 0:
		return Token{}, fmt.Errorf("token symbol %q is not in the token table: name its contract, or add it to the table", sym)
	case 1:
		return m[0], nil
	}
	return Token{}, fmt.Errorf("token symbol %q names %d contracts in the token table: name the contract", sym, len(m))
}

// KnownTokens returns a table of widely used stablecoins and wrapped
// coins, whose decimals are fixed in their contracts.
func KnownTokens() *Tokens {
	ts := new(Tokens)
	for _, t := range []Token{
		{chain.Ethereum, "0xdac17f958d2ee523a2206206994597c13d831ec7", "USDT", 6},
		{chain.Ethereum, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USDC", 6},
		{chain.Ethereum, "0x6b175474e89094c44da98b954eedeac495271d0f", "DAI", 18},
		{chain.Ethereum, "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "WETH", 18},
		{chain.Ethereum, "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", "WBTC", 8},
		{chain.Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "USDT", 6},
		{chain.Tron, "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8", "USDC", 6},
	} {
		ts.Add(t)
	}
	return ts
}

// LoadTokens reads a token table: a CSV file with the columns chain,
// address (or contract_address), symbol and decimals, by header name.
// Addresses are checked with the chain's codec.
func LoadTokens(path string, parse func(chain.Chain, string) (string, error)) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTokens(f, path, parse)
}

// ReadTokens is LoadTokens from a reader; name is for errors.
func ReadTokens(r io.Reader, name string, parse func(chain.Chain, string) (string, error)) (*Tokens, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := make(map[string]int)
	for i, h := range head {
		col[normHeader(h)] = i
	}
	idx := func(names ...string) (int, error) {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i, nil
			}
		}
		return 0, fmt.Errorf("%s: no %s column", name, names[0])
	}
	ci, err1 := idx("chain")
	ai, err2 := idx("address", "contract_address", "token_address")
	si, err3 := idx("symbol", "token_symbol")
	di, err4 := idx("decimals", "token_decimals")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	ts := new(Tokens)
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return ts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		c := chain.ParseChain(row[ci])
		if c != chain.Ethereum && c != chain.Tron {
			return nil, fmt.Errorf("%s:%d: chain %q: want an EVM chain or tron", name, line, row[ci])
		}
		a, err := parse(c, strings.TrimSpace(row[ai]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: address: %w", name, line, err)
		}
		d, err := strconv.Atoi(strings.TrimSpace(row[di]))
		if err != nil || d < 0 || d > 77 {
			return nil, fmt.Errorf("%s:%d: decimals %q: want an integer from 0 to 77", name, line, row[di])
		}
		ts.Add(Token{Chain: c, Asset: chain.Asset(a), Symbol: strings.TrimSpace(row[si]), Decimals: d})
	}
}
