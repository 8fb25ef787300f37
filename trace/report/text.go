package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// WriteSummary writes a forward trace as a person reads it: what entered,
// the endpoints, the bridges crossed, the swaps followed and the hops,
// amounts in whole units of their own chain's asset with the exact base
// units beside them. Possible continuations through instant exchanges
// come last, apart, as the heuristic they are.
func WriteSummary(w io.Writer, r *trace.Result, units Units) error {
	amt := func(c chain.Chain, a chain.Asset, v chain.Amount) string { return NewAmount(c, a, v, units).Text }
	multi := len(r.Legs) > 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s trace of %s on %s: %s (%s base units) entered at %d seeds; %d addresses, %d transfers, %d endpoints (store through block %d, %s)\n",
		r.Model, assetName(r.Chain, r.Asset, units), r.Chain, amt(r.Chain, r.Asset, r.Tainted), r.Tainted, len(r.Seeds), len(r.Nodes), len(r.Edges), len(r.Endpoints), r.Through, r.Elapsed.Round(time.Millisecond))
	for _, l := range r.Legs {
		fmt.Fprintf(tw, "across bridges into %s in %s: %s (%s base units) entered from hop %d (store through block %d)\n",
			l.Chain, assetName(l.Chain, l.Asset, units), amt(l.Chain, l.Asset, l.Entered), l.Entered, l.Hop, l.Through)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", w)
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintf(tw, "\n%sENDPOINT\tENTITY\tCATEGORY\tTAINTED\tBASE UNITS\tFIRST\tLAST\tHOP\tTXS\n", chainCol(multi, "CHAIN"))
		for _, e := range r.Endpoints {
			c := r.ChainOf(e.Chain)
			cat := string(e.Label.Category)
			if e.Label.Heuristic != "" {
				cat += " (" + e.Label.Heuristic + ")"
			}
			if e.Continues {
				cat += ", continues"
			} else if len(e.Crossings) > 0 {
				cat += ", ends"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", chainCol(multi, string(c)), e.Address, e.Label.Entity, cat, amt(c, e.Asset, e.Amount), e.Amount,
				e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), e.Hop, len(e.Txs))
		}
	}
	if len(r.Crossings) > 0 {
		fmt.Fprintf(tw, "\nBRIDGE DEPOSIT\tFROM\tIN (TAINTED OF DEPOSITED)\tLINK\tSTATUS\tOUT TO\tOUT (TAINTED OF PAID)\n")
		for _, x := range r.Crossings {
			in := amt(x.FromChain, x.InAsset, x.InTainted) + " of " + amt(x.FromChain, x.InAsset, x.In)
			status := x.Status
			if x.Reason != "" {
				status += ": " + x.Reason
			}
			if len(x.Out) == 0 {
				fmt.Fprintf(tw, "%s:%s\t%s\t%s\t%s\t%s\t\t\n", x.FromChain, x.DepositTx, x.From, in, x.Via, status)
				continue
			}
			for i, o := range x.Out {
				oc := x.ToChain
				out := amt(oc, o.Asset, o.Tainted) + " of " + amt(oc, o.Asset, o.Amount)
				if o.Refund {
					out += " (refund)"
				}
				if i == 0 {
					fmt.Fprintf(tw, "%s:%s\t%s\t%s\t%s\t%s\t%s:%s\t%s\n", x.FromChain, x.DepositTx, x.From, in, x.Via, status, oc, o.To, out)
				} else {
					fmt.Fprintf(tw, "\t\t\t\t\t%s:%s\t%s\n", oc, o.To, out)
				}
			}
		}
	}
	if len(r.Swaps) > 0 {
		fmt.Fprintf(tw, "\nSWAP TX\tVENUE\tIN (TAINTED OF TOTAL)\tOUT TO\tTAINTED OF AMOUNT\n")
		for _, s := range r.Swaps {
			c := r.ChainOf(s.Chain)
			var in []string
			for _, l := range s.In {
				in = append(in, amt(c, l.Asset, l.Tainted)+" of "+amt(c, l.Asset, l.Amount))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s of %s\n", s.Tx, s.Label.Entity, strings.Join(in, ", "), s.To, amt(c, s.Asset, s.Tainted), amt(c, s.Asset, s.Amount))
		}
	}
	fmt.Fprintf(tw, "\nHOP\t%sASSET\tADDRESSES\tTRANSFERS IN\tTAINTED IN\n", chainCol(multi, "CHAIN"))
	for _, h := range r.Hops {
		c := r.ChainOf(h.Chain)
		fmt.Fprintf(tw, "%d\t%s%s\t%d\t%d\t%s\n", h.Hop, chainCol(multi, string(c)), assetName(c, h.Asset, units), h.Addresses, h.Transfers, amt(c, h.Asset, h.Tainted))
	}
	if len(r.Candidates) > 0 {
		fmt.Fprintf(tw, "\nHEURISTIC, NOT TRACED: possible payouts of instant exchanges, matched by amount and time only\n")
		fmt.Fprintf(tw, "SERVICE\tDEPOSIT\tDEPOSITED\tPAYOUT\tPAID TO\tPAID\tFEE BPS\tDELAY\tCONFIDENCE\n")
		for _, c := range r.Candidates {
			fmt.Fprintf(tw, "%s\t%s:%s\t%s\t%s:%s\t%s\t%s\t%.1f\t%s\t%.2f\n", c.Service, c.FromChain, c.DepositTx, amt(c.FromChain, c.Asset, c.Amount),
				c.ToChain, c.PayoutTx, c.To, amt(c.ToChain, c.OutAsset, c.Out), c.FeeBps, c.Delay.Round(time.Second), c.Confidence)
		}
	}
	return tw.Flush()
}

// chainCol is a column of a chain's name where the result spans several.
func chainCol(multi bool, s string) string {
	if !multi {
		return ""
	}
	return s + "\t"
}

// WriteBackSummary writes a backward trace: where what the seed received
// came from.
func WriteBackSummary(w io.Writer, r *trace.BackResult, units Units) error {
	amt := func(v chain.Amount) string { return NewAmount(r.Chain, r.Asset, v, units).Text }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "backward %s trace of %s on %s: %s (%s base units) received by %s; %d sources, %s (%s base units) unattributed (store through block %d, %s)\n",
		r.Model, assetName(r.Chain, r.Asset, units), r.Chain, amt(r.Amount), r.Amount, r.Seed.Address, len(r.Sources), amt(r.Unattributed), r.Unattributed, r.Through, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "\nSOURCE\tENTITY\tCATEGORY\tAMOUNT\tBASE UNITS\tHOP\n")
	for _, s := range r.Sources {
		entity, cat := "", ""
		if s.Label != nil {
			entity, cat = s.Label.Entity, string(s.Label.Category)
		}
		if s.Origin {
			cat = "origin (no earlier inflow in the graph)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", s.Address, entity, cat, amt(s.Amount), s.Amount, s.Hop)
	}
	return tw.Flush()
}

// WriteEdgesCSV writes every transfer that carried taint, one row each,
// amounts exact in base units, the asset and the chain named.
func WriteEdgesCSV(w io.Writer, r *trace.Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"hop", "time", "block", "tx", "kind", "pos", "from", "to", "asset", "amount", "tainted", "swap", "chain"})
	for _, e := range r.Edges {
		asset := string(e.Asset)
		if asset == "" {
			asset = "native"
		}
		cw.Write([]string{strconv.Itoa(e.Hop), e.Time.Format(time.RFC3339), strconv.FormatUint(e.Block, 10), e.Tx, e.Kind.String(),
			strconv.FormatUint(uint64(e.Pos), 10), e.From, e.To, asset, e.Amount.String(), e.Tainted.String(), strconv.FormatBool(e.Swap), string(r.ChainOf(e.Chain))})
	}
	cw.Flush()
	return cw.Error()
}

// assetName names an asset: its symbol where known, else its contract.
func assetName(c chain.Chain, a chain.Asset, units Units) string {
	if u := NewAmount(c, a, chain.Amount{}, units); u.Known {
		return u.Unit.Symbol
	}
	return string(a)
}
