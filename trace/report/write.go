package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// maxReadable bounds the readable part of a file name.
const maxReadable = 40

// fileName is a request's file name without extension: "freeze-", the
// exchange's name folded to lower-case ASCII where it can be (accents
// dropped, a few letters spelled out), and its EntityID. Names in other
// scripts keep only the EntityID.
func fileName(entity, id string) string {
	if r := readable(entity); r != "" {
		return "freeze-" + r + "-" + id
	}
	return "freeze-" + id
}

// spelled are Latin letters that do not decompose into a base letter and
// a mark.
var spelled = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i", 'ŋ': "n", 'ħ': "h",
}

// readable folds s to lower-case ASCII letters and digits joined by
// hyphens, dropping what has no ASCII spelling.
func readable(s string) string {
	var b strings.Builder
	hyphen := false
	put := func(r rune) {
		if hyphen && b.Len() > 0 {
			b.WriteByte('-')
		}
		hyphen = false
		b.WriteRune(r)
	}
	for _, r := range norm.NFKD.String(s) {
		r = unicode.ToLower(r)
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			put(r)
		case unicode.Is(unicode.Mn, r):
			// an accent, decomposed off its letter
		case spelled[r] != "":
			for _, c := range spelled[r] {
				put(c)
			}
		default:
			hyphen = true
		}
	}
	out := b.String()
	if len(out) > maxReadable {
		out = out[:maxReadable]
		if i := strings.LastIndexByte(out, '-'); i > maxReadable/2 {
			out = out[:i]
		}
		out = strings.TrimRight(out, "-")
	}
	return out
}

// csvHeader names the CSV's columns: amounts in whole units with their
// unit, and exactly in base units beside them.
var csvHeader = []string{"case", "exchange", "entity_id", "chain", "deposit_address", "amount", "unit", "amount_base_units", "asset",
	"claim", "first_arrival", "last_arrival", "identified_by", "arriving_transactions", "sweep_transactions", "model", "through_block", "generated"}

// WriteCSV writes a request as CSV: a header and a row per deposit.
func WriteCSV(w io.Writer, req Request) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	claim := "received"
	if req.UpperBound {
		claim = "upper bound (poison model)"
	}
	for _, d := range req.Deposits {
		var sweeps []string
		for _, s := range d.Sweeps {
			sweeps = append(sweeps, s.Tx)
		}
		unit := d.Amount.Unit.Symbol
		if !d.Amount.Known {
			unit = "base units (decimals unknown)"
		}
		dc := claim
		if d.Unswept && d.IdentifiedBy != "tag" {
			dc += ", not yet swept: at the deposit address"
		}
		cw.Write([]string{req.Case, req.Exchange, req.EntityID, string(d.Chain), d.Address, d.Amount.Value, unit, d.Amount.Base.String(), string(d.Amount.Asset),
			dc, d.First.UTC().Format(time.RFC3339), d.Last.UTC().Format(time.RFC3339), d.IdentifiedBy, strings.Join(d.Txs, " "), strings.Join(sweeps, " "),
			string(req.Model), strconv.FormatUint(req.Through, 10), req.Generated.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

var freezeHTML = template.Must(template.New("freeze").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Freeze request {{.Case}}: {{.Exchange}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}
table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #999;padding:.3em;text-align:left;font-size:.9em;vertical-align:top}
td.n{text-align:right;white-space:nowrap}small{display:block;color:#555;font-family:monospace;font-size:.75em;word-break:break-all}
code{font-size:.85em;word-break:break-all}.caveat{border-left:4px solid #c60;padding-left:.6em}
@media print{body{margin:0}}
</style></head><body>
<h1>Request to freeze funds</h1>
<p><b>To:</b> {{.Exchange}} (compliance)<br><b>Case reference:</b> {{.Case}}<br><b>Prepared:</b> {{date .Generated}}<br><b>Reference of this request:</b> <code>{{.Name}}</code></p>
<p>Funds traced from the seeds below reached the addresses of {{.Exchange}} listed here. We ask that the amounts be frozen
pending legal process. Each amount is what the address received from the traced flow, computed under the <b>{{.Model}}</b> taint
model from the transfers ingested through block {{.Through}}; it is exact, written in whole units with the base units in small print.</p>
{{if .UpperBound}}<p class="caveat">Under the poison model every transfer from a tainted address counts in full: these amounts are what
arrived from the traced flow, an upper bound of the stolen funds among them, not their measure.</p>{{end}}
<h2>Seeds</h2><ul>{{range .Seeds}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Deposit addresses</h2>
<table><tr><th>Chain</th><th>Address</th><th>Amount</th><th>First arrival</th><th>Last arrival</th><th>Identified by</th></tr>
{{range .Deposits}}<tr><td>{{.Chain}}</td><td><code>{{.Address}}</code></td><td class="n">{{template "amount" .Amount}}</td><td>{{date .First}}</td><td>{{date .Last}}</td><td>{{if eq .IdentifiedBy "tag"}}attribution tag{{else}}{{.IdentifiedBy}} heuristic{{if .Sweeps}}: swept to the exchange in {{range .Sweeps}}<code>{{.Tx}}</code> {{end}}{{end}}{{if .Unswept}} (the last arrival not yet swept: held at the deposit address){{end}}{{end}}</td></tr>{{end}}
{{range .Totals}}<tr><th colspan="2">Total{{if gt (len $.Chains) 1}} on {{.Chain}}{{end}}</th><th class="n">{{template "amount" .}}</th><th colspan="3"></th></tr>{{end}}</table>
{{range .Deposits}}<h2>Evidence for <code>{{.Address}}</code>{{if gt (len $.Chains) 1}} on {{.Chain}}{{end}}</h2>
<p>Arriving transactions: {{range .Txs}}<code>{{.}}</code> {{end}}</p>
{{if .Sweeps}}<p>Sweeps of the deposits into the exchange's wallet:</p>
<table><tr><th>Time</th><th>Transaction</th><th>To</th><th>Amount</th></tr>
{{range .Sweeps}}<tr><td>{{date .Time}}</td><td><code>{{.Tx}}</code></td><td><code>{{.To}}</code></td><td class="n">{{template "amount" .Amount}}</td></tr>{{end}}
</table>{{end}}
<p>Path from a seed:</p>
<table><tr><th>Hop</th><th>Chain</th><th>Time</th><th>Transaction</th><th>From</th><th>To</th><th>Amount</th><th>Tainted</th></tr>
{{range .Path}}{{if .Via}}<tr><td colspan="8">Across to {{.Chain}}: {{.Via}}; the payout below names the deposit above.</td></tr>{{end}}<tr><td>{{.Hop}}</td><td>{{.Chain}}</td><td>{{date .Time}}</td><td><code>{{.Tx}}</code></td><td><code>{{.From}}</code></td><td><code>{{.To}}</code></td><td class="n">{{template "amount" .Amount}}{{if .Swap}} (swap){{end}}</td><td class="n">{{template "amount" .Tainted}}</td></tr>{{end}}
</table>{{end}}
</body></html>
{{define "amount"}}<span title="{{.BaseText}}">{{.Text}}</span><small>{{.BaseText}}</small>{{end}}`))

// WriteHTML writes a request as a printable HTML page.
func WriteHTML(w io.Writer, req Request) error {
	return freezeHTML.Execute(w, req)
}

// ErrExists reports a file that a request would overwrite.
var ErrExists = errors.New("freeze request file exists")

// WriteDir writes each request as Name.csv and Name.html into dir, made
// if missing, and returns the paths written. It never overwrites: every
// file is created exclusively, and if any name is taken nothing is
// written (the files this call made are removed) and the error, wrapping
// ErrExists, names the file. Names are stable per exchange, so a
// directory holds one set of requests: write a new trace's into a new
// directory.
func WriteDir(dir string, reqs []Request) ([]string, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	var bufs []bytes.Buffer
	var names []string
	for _, req := range reqs {
		var c, h bytes.Buffer
		if err := WriteCSV(&c, req); err != nil {
			return nil, fmt.Errorf("freeze request %s: %w", req.Name, err)
		}
		if err := WriteHTML(&h, req); err != nil {
			return nil, fmt.Errorf("freeze request %s: %w", req.Name, err)
		}
		bufs = append(bufs, c, h)
		names = append(names, filepath.Join(dir, req.Name+".csv"), filepath.Join(dir, req.Name+".html"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("freeze requests: %w", err)
	}
	// Claim every name before writing any, so that a taken name leaves
	// nothing half written.
	files := make([]*os.File, 0, len(names))
	undo := func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}
	for _, name := range names {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			undo()
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("%w: %s (write into another directory)", ErrExists, name)
			}
			return nil, fmt.Errorf("freeze requests: %w", err)
		}
		files = append(files, f)
	}
	for i, f := range files {
		_, err := f.Write(bufs[i].Bytes())
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			undo()
			return nil, fmt.Errorf("freeze request %s: %w", f.Name(), err)
		}
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("freeze request %s: %w", f.Name(), err)
		}
	}
	return names, nil
}
