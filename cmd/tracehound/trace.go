package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/trace"
)

type traceFlags struct {
	model, asset, since, until, min string
	hops, maxAddresses              int
	json, csv, noCluster, backward  bool
	noSwaps                         bool
	freeze, caseRef                 string
}

func newTraceCmd(a *app) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace CHAIN SEED...",
		Short: "Follow tainted funds forward from addresses or transactions to the services that hold them",
		Long: `Follow tainted funds forward from seeds (addresses, or transaction hashes)
hop by hop through the transfer graph, under the poison, haircut or FIFO
taint model, to the services (exchanges, mixers, bridges) they reached.

An address seed taints everything it received in the window (--since,
--until); a transaction seed taints everything the transaction moved.
A seed can be narrowed: TX:N is one output of a Bitcoin transaction,
TX:ADDRESS what the transaction paid that address; SEED=AMOUNT taints
only AMOUNT base units of what the seed received, oldest first; and
SEED@TIME counts the seed's arrivals from TIME on (RFC 3339 or
YYYY-MM-DD), e.g. 0xthief=401346000000000000000000@2025-02-21T14:13:00Z.
Exchange deposit addresses are recognised from their sweeps to a tagged
hot wallet, and Bitcoin addresses by the tagged addresses they were spent
together with (multi-input clustering, CoinJoins excluded), unless
--no-cluster. Taint that enters a DeFi venue (a DEX pool or router,
tagged defi) continues in the asset the venue paid out in the same
transaction, unless --no-swaps. With --freeze DIR, a freeze request per
exchange is written there as CSV and as a printable HTML page.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.traceCmd(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "haircut", "taint model: poison, haircut or fifo")
	fl.IntVar(&f.hops, "hops", trace.DefaultMaxHops, "most hops from a seed")
	fl.StringVar(&f.min, "min", "0", "drop branches carrying less than this many base units (dust)")
	fl.StringVar(&f.since, "since", "", "first block time considered (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&f.until, "until", "", "block time after the window (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&f.asset, "asset", "", "token contract to trace instead of the chain's coin")
	fl.IntVar(&f.maxAddresses, "max-addresses", trace.DefaultMaxAddresses, "stop with an error past this many tainted addresses")
	fl.BoolVar(&f.json, "json", false, "write the whole result as JSON")
	fl.BoolVar(&f.csv, "csv", false, "write the tainted transfers as CSV")
	fl.BoolVar(&f.noCluster, "no-cluster", false, "do not recognise deposit addresses by their sweeps")
	fl.BoolVar(&f.noSwaps, "no-swaps", false, "end the trace at DeFi venues instead of following swaps into other assets")
	fl.BoolVar(&f.backward, "backward", false, "trace backwards: where did what the seed address received come from")
	fl.StringVar(&f.freeze, "freeze", "", "write freeze requests, one per exchange, into this directory")
	fl.StringVar(&f.caseRef, "case", "", "case reference printed on freeze requests")
	return cmd
}

func (a *app) traceCmd(ctx context.Context, f traceFlags, args []string) error {
	if f.json && f.csv {
		return usageError("--json and --csv exclude each other")
	}
	spec := trace.Spec{Chain: args[0], Seeds: args[1:], Model: f.model, Hops: f.hops, Min: f.min, Since: f.since, Until: f.until,
		Asset: f.asset, NoCluster: f.noCluster, NoSwaps: f.noSwaps}
	if f.backward {
		spec.Direction = "backward"
	}
	return a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		req, err := n.ReadTrace(spec)
		if err != nil {
			return err
		}
		req.MaxAddresses = f.maxAddresses
		if req.Backward {
			res, err := n.TraceBack(ctx, req)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(a.stdout, res)
			}
			printBack(a.stdout, res)
			return nil
		}
		res, err := n.Trace(ctx, req)
		if err != nil {
			return err
		}
		if f.freeze != "" {
			files, err := writeFreezeRequests(f.freeze, f.caseRef, res, time.Now().UTC())
			if err != nil {
				return err
			}
			for _, file := range files {
				fmt.Fprintln(a.stderr, "wrote", file)
			}
		}
		switch {
		case f.json:
			return writeJSON(a.stdout, res)
		case f.csv:
			return writeEdgesCSV(a.stdout, res)
		}
		printTrace(a.stdout, res)
		return nil
	})
}

// writeJSON writes v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func assetLabel(a chain.Asset) string {
	if a == chain.Native {
		return "native"
	}
	return string(a)
}

func printTrace(w io.Writer, r *trace.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "%s trace of %s on %s: %s base units entered at %d seeds; %d addresses, %d transfers, %d endpoints (store through block %d, %s)\n",
		r.Model, assetLabel(r.Asset), r.Chain, r.Tainted, len(r.Seeds), len(r.Nodes), len(r.Edges), len(r.Endpoints), r.Through, r.Elapsed.Round(time.Millisecond))
	for _, w := range r.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", w)
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintf(tw, "\nENDPOINT\tENTITY\tCATEGORY\tASSET\tTAINTED\tFIRST\tLAST\tHOP\tTXS\n")
		for _, e := range r.Endpoints {
			cat := string(e.Label.Category)
			if e.Label.Heuristic != "" {
				cat += " (" + e.Label.Heuristic + ")"
			}
			if e.Continues {
				cat += ", continues"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", e.Address, e.Label.Entity, cat, assetLabel(e.Asset), e.Amount,
				e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), e.Hop, len(e.Txs))
		}
	}
	if len(r.Swaps) > 0 {
		fmt.Fprintf(tw, "\nSWAP TX\tVENUE\tIN (TAINTED OF TOTAL)\tOUT TO\tASSET\tTAINTED OF AMOUNT\n")
		for _, s := range r.Swaps {
			var in []string
			for _, l := range s.In {
				in = append(in, fmt.Sprintf("%s of %s %s", l.Tainted, l.Amount, assetLabel(l.Asset)))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s of %s\n", s.Tx, s.Label.Entity, strings.Join(in, ", "), s.To, assetLabel(s.Asset), s.Tainted, s.Amount)
		}
	}
	fmt.Fprintf(tw, "\nHOP\tASSET\tADDRESSES\tTRANSFERS IN\tTAINTED IN\n")
	for _, h := range r.Hops {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", h.Hop, assetLabel(h.Asset), h.Addresses, h.Transfers, h.Tainted)
	}
}

func printBack(w io.Writer, r *trace.BackResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "backward %s trace of %s on %s: %s base units received by %s; %d sources, %s unattributed (store through block %d, %s)\n",
		r.Model, assetLabel(r.Asset), r.Chain, r.Amount, r.Seed.Address, len(r.Sources), r.Unattributed, r.Through, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "\nSOURCE\tENTITY\tCATEGORY\tAMOUNT\tHOP\n")
	for _, s := range r.Sources {
		entity, cat := "", ""
		if s.Label != nil {
			entity, cat = s.Label.Entity, string(s.Label.Category)
		}
		if s.Origin {
			cat = "origin (no earlier inflow in the graph)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", s.Address, entity, cat, s.Amount, s.Hop)
	}
}

func writeEdgesCSV(w io.Writer, r *trace.Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"hop", "time", "block", "tx", "kind", "pos", "from", "to", "asset", "amount", "tainted", "swap"})
	for _, e := range r.Edges {
		cw.Write([]string{strconv.Itoa(e.Hop), e.Time.Format(time.RFC3339), strconv.FormatUint(e.Block, 10), e.Tx, e.Kind.String(),
			strconv.FormatUint(uint64(e.Pos), 10), e.From, e.To, assetLabel(e.Asset), e.Amount.String(), e.Tainted.String(), strconv.FormatBool(e.Swap)})
	}
	cw.Flush()
	return cw.Error()
}

// evidencePaths returns a function that walks back from an endpoint to a
// seed along the incoming edge that carried the most taint from a nearer
// hop; through a swap, it goes on from the venue in the asset the swap
// took in. The edges are indexed once for all the endpoints.
func evidencePaths(r *trace.Result) func(addr string, asset chain.Asset) []trace.Edge {
	type key struct {
		addr  string
		asset chain.Asset
	}
	best := make(map[key]trace.Edge)
	hop := make(map[key]int)
	for _, n := range r.Nodes {
		hop[key{n.Address, n.Asset}] = n.Hop
	}
	intake := make(map[string]chain.Asset) // swap tx -> an asset taken in
	for _, s := range r.Swaps {
		if len(s.In) > 0 {
			intake[s.Tx] = s.In[0].Asset
		}
	}
	from := func(e trace.Edge) key {
		if e.Swap {
			return key{e.From, intake[e.Tx]}
		}
		return key{e.From, e.Asset}
	}
	for _, e := range r.Edges {
		to := key{e.To, e.Asset}
		if hop[from(e)] >= hop[to] {
			continue
		}
		if b, ok := best[to]; !ok || e.Tainted.Cmp(b.Tainted) > 0 {
			best[to] = e
		}
	}
	return func(addr string, asset chain.Asset) []trace.Edge {
		var path []trace.Edge
		for at := (key{addr, asset}); len(path) <= len(r.Nodes); {
			e, ok := best[at]
			if !ok {
				break
			}
			path = append(path, e)
			at = from(e)
		}
		slices.Reverse(path)
		return path
	}
}

type freezeDeposit struct {
	trace.Endpoint
	Path []trace.Edge
}

type freezeRequest struct {
	Case, Entity, Chain, Model string
	Generated                  time.Time
	Seeds                      []trace.Seed
	Through                    uint64
	Totals                     []freezeTotal // per asset, the traced one first
	Deposits                   []freezeDeposit
}

type freezeTotal struct {
	Asset  string
	Amount chain.Amount
}

// add counts a deposit in its asset's total.
func (fr *freezeRequest) add(asset string, a chain.Amount) {
	for i := range fr.Totals {
		if fr.Totals[i].Asset == asset {
			fr.Totals[i].Amount, _ = fr.Totals[i].Amount.Add(a)
			return
		}
	}
	fr.Totals = append(fr.Totals, freezeTotal{asset, a})
}

var freezeHTML = template.Must(template.New("freeze").Funcs(template.FuncMap{
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"asset": assetLabel,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Freeze request {{.Case}}: {{.Entity}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}
table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #999;padding:.3em;text-align:left;font-size:.9em}
td.n{text-align:right;font-family:monospace}code{font-size:.85em;word-break:break-all}
@media print{body{margin:0}}
</style></head><body>
<h1>Request to freeze funds</h1>
<p><b>To:</b> {{.Entity}} (compliance)<br><b>Case reference:</b> {{.Case}}<br><b>Prepared:</b> {{date .Generated}}</p>
<p>Funds traced from the seeds below reached the deposit addresses listed at {{.Entity}}. We ask that the amounts be frozen
pending legal process. Amounts are exact, in base units of the asset shown (native: the coin of {{.Chain}}; otherwise the token
contract), computed under the <b>{{.Model}}</b> taint model from the transfers ingested through block {{.Through}}.</p>
<h2>Seeds</h2><ul>{{range .Seeds}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Deposit addresses</h2>
<table><tr><th>Address</th><th>Asset</th><th>Tainted amount</th><th>First arrival</th><th>Last arrival</th><th>Identified by</th></tr>
{{range .Deposits}}<tr><td><code>{{.Address}}</code></td><td><code>{{asset .Asset}}</code></td><td class="n">{{.Amount}}</td><td>{{date .First}}</td><td>{{date .Last}}</td><td>{{if .Label.Heuristic}}{{.Label.Heuristic}} heuristic{{else}}attribution tag{{end}}</td></tr>{{end}}
{{range .Totals}}<tr><th>Total</th><th><code>{{.Asset}}</code></th><th class="n">{{.Amount}}</th><th colspan="3"></th></tr>{{end}}</table>
{{range .Deposits}}<h2>Evidence path to <code>{{.Address}}</code></h2>
<table><tr><th>Hop</th><th>Time</th><th>Transaction</th><th>From</th><th>To</th><th>Asset</th><th>Amount</th><th>Tainted</th></tr>
{{range .Path}}<tr><td>{{.Hop}}</td><td>{{date .Time}}</td><td><code>{{.Tx}}</code></td><td><code>{{.From}}</code></td><td><code>{{.To}}</code></td><td><code>{{asset .Asset}}</code>{{if .Swap}} (swap){{end}}</td><td class="n">{{.Amount}}</td><td class="n">{{.Tainted}}</td></tr>{{end}}
</table>
<p>Arriving transactions: {{range .Txs}}<code>{{.}}</code> {{end}}</p>{{end}}
</body></html>
`))

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// writeFreezeRequests writes a CSV and an HTML freeze request for every
// exchange among the endpoints and returns the files written.
func writeFreezeRequests(dir, caseRef string, r *trace.Result, now time.Time) ([]string, error) {
	byEntity := make(map[string]*freezeRequest)
	evidence := evidencePaths(r)
	var order []string
	for _, e := range r.Endpoints {
		if !e.Label.Category.IsExchange() {
			continue
		}
		fr := byEntity[e.Label.Entity]
		if fr == nil {
			fr = &freezeRequest{Case: caseRef, Entity: e.Label.Entity, Chain: string(r.Chain), Model: string(r.Model),
				Generated: now, Seeds: r.Seeds, Through: r.Through}
			byEntity[e.Label.Entity] = fr
			order = append(order, e.Label.Entity)
		}
		fr.add(assetLabel(e.Asset), e.Amount)
		fr.Deposits = append(fr.Deposits, freezeDeposit{e, evidence(e.Address, e.Asset)})
	}
	if len(order) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, entity := range order {
		fr := byEntity[entity]
		base := filepath.Join(dir, "freeze-"+strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(entity), "-"), "-"))
		var b strings.Builder
		cw := csv.NewWriter(&b)
		cw.Write([]string{"case", "exchange", "chain", "asset", "deposit_address", "tainted_amount", "first_arrival", "last_arrival", "identified_by", "transactions", "model", "through_block"})
		for _, d := range fr.Deposits {
			by := "tag"
			if d.Label.Heuristic != "" {
				by = d.Label.Heuristic
			}
			cw.Write([]string{caseRef, entity, fr.Chain, assetLabel(d.Asset), d.Address, d.Amount.String(), d.First.Format(time.RFC3339), d.Last.Format(time.RFC3339),
				by, strings.Join(d.Txs, " "), fr.Model, strconv.FormatUint(fr.Through, 10)})
		}
		cw.Flush()
		if err := os.WriteFile(base+".csv", []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		var h strings.Builder
		if err := freezeHTML.Execute(&h, fr); err != nil {
			return nil, err
		}
		if err := os.WriteFile(base+".html", []byte(h.String()), 0o644); err != nil {
			return nil, err
		}
		files = append(files, base+".csv", base+".html")
	}
	return files, nil
}
