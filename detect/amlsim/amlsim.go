// Package amlsim reads IBM AMLSim transaction graphs (nodes.csv and
// transactions.csv, as published in AMLSim's sample outputs) into
// tracehound transfers, with the fraud ground truth, so that the typology
// rules can be measured against planted laundering patterns.
//
// AMLSim values are decimals with at most two places; they are read into
// exact integer cents from the decimal string, never through a float. A
// time step is taken as one day from 2019-01-01 UTC.
package amlsim

import (
	"archive/tar"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Chain is the chain name AMLSim transfers carry.
const Chain chain.Chain = "amlsim"

// Epoch is the time of step 0.
var Epoch = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// Step is the time one simulation step stands for.
const Step = 24 * time.Hour

// Account is one node of the graph.
type Account struct {
	ID    string
	Fraud bool
	// FraudStep is the step at which the account sent its part of a
	// pattern, -1 if it never did.
	FraudStep int
	// Balance is the initial balance in cents.
	Balance chain.Amount
}

// Graph is one AMLSim data set.
type Graph struct {
	Name      string
	Accounts  map[string]*Account
	Transfers []chain.Transfer // in file order, which is time order
}

// ParseCents reads a non-negative decimal with at most two fractional
// digits ("147.8", "12", "0.05") as exact cents.
func ParseCents(s string) (chain.Amount, error) {
	whole, frac, dot := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && (!dot || frac == "") {
		return chain.Amount{}, fmt.Errorf("amount %q: empty", s)
	}
	if len(frac) > 2 {
		return chain.Amount{}, fmt.Errorf("amount %q: more than two decimal places", s)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return chain.Amount{}, fmt.Errorf("amount %q: not a non-negative decimal", s)
		}
	}
	digits := strings.TrimLeft(whole+frac+strings.Repeat("0", 2-len(frac)), "0")
	if digits == "" {
		return chain.Amount{}, nil
	}
	a, err := chain.ParseAmount(digits)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("amount %q: %w", s, err)
	}
	return a, nil
}

// OpenTGZ reads a graph from an AMLSim .tgz archive holding one directory
// with nodes.csv and transactions.csv.
func OpenTGZ(file string) (*Graph, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	tr := tar.NewReader(zr)
	g := &Graph{Name: strings.TrimSuffix(path.Base(file), ".tgz")}
	var txRaw []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		switch path.Base(h.Name) {
		case "nodes.csv":
			if g.Accounts, err = readNodes(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, h.Name, err)
			}
		case "transactions.csv":
			// Read after the nodes whatever the archive's order.
			if txRaw, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, h.Name, err)
			}
		}
	}
	if g.Accounts == nil || txRaw == nil {
		return nil, fmt.Errorf("%s: want nodes.csv and transactions.csv", file)
	}
	if g.Transfers, err = readTransactions(strings.NewReader(string(txRaw)), g.Accounts); err != nil {
		return nil, fmt.Errorf("%s: transactions.csv: %w", file, err)
	}
	return g, nil
}

func readCSV(r io.Reader, want []string, row func(line int, rec []string) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	h, err := cr.Read()
	if err != nil {
		return fmt.Errorf("line 1: %w", err)
	}
	for i, w := range want {
		if i >= len(h) || strings.TrimSpace(h[i]) != w {
			return fmt.Errorf("line 1: header %v, want %v", h, want)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err // a csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		if err := row(line, rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func readNodes(r io.Reader) (map[string]*Account, error) {
	accts := map[string]*Account{}
	err := readCSV(r, []string{"nodeid", "isFraud", "init_balance", "fraudStep"}, func(_ int, rec []string) error {
		id := strings.TrimSpace(rec[0])
		if _, dup := accts[id]; dup {
			return fmt.Errorf("node %s listed twice", id)
		}
		bal, err := ParseCents(rec[2])
		if err != nil {
			return err
		}
		step, err := strconv.Atoi(strings.TrimSpace(rec[3]))
		if err != nil {
			return fmt.Errorf("fraudStep %q: %w", rec[3], err)
		}
		var fraud bool
		switch strings.TrimSpace(rec[1]) {
		case "0":
		case "1":
			fraud = true
		default:
			return fmt.Errorf("isFraud %q, want 0 or 1", rec[1])
		}
		accts[id] = &Account{ID: id, Fraud: fraud, FraudStep: step, Balance: bal}
		return nil
	})
	return accts, err
}

func readTransactions(r io.Reader, accts map[string]*Account) ([]chain.Transfer, error) {
	var out []chain.Transfer
	err := readCSV(r, []string{"sourceNodeId", "targetNodeId", "value", "time"}, func(line int, rec []string) error {
		from, to := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if accts[from] == nil || accts[to] == nil {
			return fmt.Errorf("transfer between unknown nodes %s and %s", from, to)
		}
		v, err := ParseCents(rec[2])
		if err != nil {
			return err
		}
		step, err := strconv.ParseUint(strings.TrimSpace(rec[3]), 10, 32)
		if err != nil {
			return fmt.Errorf("time %q: %w", rec[3], err)
		}
		out = append(out, chain.Transfer{Chain: Chain, Tx: "l" + strconv.Itoa(line), Kind: chain.KindNative,
			Block: step, Time: Epoch.Add(time.Duration(step) * Step), From: from, To: to, Amount: v})
		return nil
	})
	return out, err
}

// Fraud returns the set of fraud accounts.
func (g *Graph) Fraud() map[string]bool {
	s := map[string]bool{}
	for id, a := range g.Accounts {
		if a.Fraud {
			s[id] = true
		}
	}
	return s
}

// Planted returns the transfers of the planted patterns. AMLSim's
// background agents always send (nearly) their whole initial balance,
// while a pattern's transfers are small slices of it; a transfer between
// two fraud accounts of less than half the sender's initial balance is
// therefore a planted one.
func (g *Graph) Planted() []chain.Transfer {
	var out []chain.Transfer
	for _, t := range g.Transfers {
		a, b := g.Accounts[t.From], g.Accounts[t.To]
		if !a.Fraud || !b.Fraud {
			continue
		}
		if half := a.Balance.MulDiv(chain.NewAmount(1), chain.NewAmount(2)); t.Amount.Cmp(half) < 0 {
			out = append(out, t)
		}
	}
	return out
}

// Active returns the fraud accounts that sent or received a planted
// transfer. A fraud account with none took no visible part in its pattern
// (the simulation ended before its hop), and no rule over the transfers
// can find it.
func (g *Graph) Active() map[string]bool {
	s := map[string]bool{}
	for _, t := range g.Planted() {
		s[t.From], s[t.To] = true, true
	}
	return s
}

// ClosedCycles returns the accounts on closed cycles of planted transfers
// of one amount: what a cycle rule can find, since most of AMLSim's
// planted cycles never close (a hop is scheduled after the run ends).
func (g *Graph) ClosedCycles() map[string]bool {
	byAmount := map[string]map[string][]string{}
	for _, t := range g.Planted() {
		k := t.Amount.String()
		if byAmount[k] == nil {
			byAmount[k] = map[string][]string{}
		}
		byAmount[k][t.From] = append(byAmount[k][t.From], t.To)
	}
	out := map[string]bool{}
	for _, adj := range byAmount {
		for _, comp := range sccs(adj) {
			if len(comp) > 1 {
				for _, n := range comp {
					out[n] = true
				}
			}
		}
	}
	return out
}

// sccs returns the strongly connected components of a small graph
// (Tarjan's algorithm).
func sccs(adj map[string][]string) [][]string {
	index, low := map[string]int{}, map[string]int{}
	on := map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = len(index), len(index)
		stack = append(stack, v)
		on[v] = true
		for _, w := range adj[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			out = append(out, comp)
		}
	}
	keys := make([]string, 0, len(adj))
	for v := range adj {
		keys = append(keys, v)
	}
	sort.Strings(keys)
	for _, v := range keys {
		if _, seen := index[v]; !seen {
			visit(v)
		}
	}
	return out
}

// Score compares flagged accounts with the ground truth.
type Score struct {
	Flagged, TruePositive int
	Fraud, Active         int
	ActiveFound           int
	Precision             float64
	Recall                float64 // of all fraud accounts
	RecallActive          float64 // of fraud accounts with a planted transfer
}

// Evaluate scores a set of flagged accounts.
func (g *Graph) Evaluate(flagged map[string]bool) Score {
	fraud, active := g.Fraud(), g.Active()
	s := Score{Flagged: len(flagged), Fraud: len(fraud), Active: len(active)}
	for id := range flagged {
		if fraud[id] {
			s.TruePositive++
		}
		if active[id] {
			s.ActiveFound++
		}
	}
	if s.Flagged > 0 {
		s.Precision = float64(s.TruePositive) / float64(s.Flagged)
	}
	if s.Fraud > 0 {
		s.Recall = float64(s.TruePositive) / float64(s.Fraud)
	}
	if s.Active > 0 {
		s.RecallActive = float64(s.ActiveFound) / float64(s.Active)
	}
	return s
}
