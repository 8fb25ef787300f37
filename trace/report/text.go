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
// the endpoints, the swaps followed and the hops, amounts in whole units
// with the exact base units beside them.
func WriteSummary(w io.Writer, r *trace.Result, units Units) error {
	amt := func(a chain.Asset, v chain.Amount) string { return NewAmount(r.Chain, a, v, units).Text }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s trace of %s on %s: %s (%s base units) entered at %d seeds; %d addresses, %d transfers, %d endpoints (store through block %d, %s)\n",
		r.Model, assetName(r.Chain, r.Asset, units), r.Chain, amt(r.Asset, r.Tainted), r.Tainted, len(r.Seeds), len(r.Nodes), len(r.Edges), len(r.Endpoints), r.Through, r.Elapsed.Round(time.Millisecond))
	for _, w := range r.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", w)
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintf(tw, "\nENDPOINT\tENTITY\tCATEGORY\tTAINTED\tBASE UNITS\tFIRST\tLAST\tHOP\tTXS\n")
		for _, e := range r.Endpoints {
			cat := string(e.Label.Category)
			if e.Label.Heuristic != "" {
				cat += " (" + e.Label.Heuristic + ")"
			}
			if e.Continues {
				cat += ", continues"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", e.Address, e.Label.Entity, cat, amt(e.Asset, e.Amount), e.Amount,
				e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), e.Hop, len(e.Txs))
		}
	}
	if len(r.Swaps) > 0 {
		fmt.Fprintf(tw, "\nSWAP TX\tVENUE\tIN (TAINTED OF TOTAL)\tOUT TO\tTAINTED OF AMOUNT\n")
		for _, s := range r.Swaps {
			var in []string
			for _, l := range s.In {
				in = append(in, amt(l.Asset, l.Tainted)+" of "+amt(l.Asset, l.Amount))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s of %s\n", s.Tx, s.Label.Entity, strings.Join(in, ", "), s.To, amt(s.Asset, s.Tainted), amt(s.Asset, s.Amount))
		}
	}
	fmt.Fprintf(tw, "\nHOP\tASSET\tADDRESSES\tTRANSFERS IN\tTAINTED IN\n")
	for _, h := range r.Hops {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", h.Hop, assetName(r.Chain, h.Asset, units), h.Addresses, h.Transfers, amt(h.Asset, h.Tainted))
	}
	return tw.Flush()
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
// amounts exact in base units and the asset named.
func WriteEdgesCSV(w io.Writer, r *trace.Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"hop", "time", "block", "tx", "kind", "pos", "from", "to", "asset", "amount", "tainted", "swap"})
	for _, e := range r.Edges {
		asset := string(e.Asset)
		if asset == "" {
			asset = "native"
		}
		cw.Write([]string{strconv.Itoa(e.Hop), e.Time.Format(time.RFC3339), strconv.FormatUint(e.Block, 10), e.Tx, e.Kind.String(),
			strconv.FormatUint(uint64(e.Pos), 10), e.From, e.To, asset, e.Amount.String(), e.Tainted.String(), strconv.FormatBool(e.Swap)})
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
