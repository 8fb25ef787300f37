package cases

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
)

// nativeDecimals are the decimals of chains' own coins, for amounts in
// reports. Tokens are shown in base units with their contract, since a
// report must not guess a token's decimals.
var nativeDecimals = map[chain.Chain]struct {
	symbol   string
	decimals int
}{
	chain.Bitcoin: {"BTC", 8}, chain.Ethereum: {"ETH", 18}, chain.Tron: {"TRX", 6}, chain.Litecoin: {"LTC", 8},
	chain.BitcoinCash: {"BCH", 8}, chain.BitcoinSV: {"BSV", 8}, chain.BitcoinGold: {"BTG", 8}, chain.Dash: {"DASH", 8},
	chain.Zcash: {"ZEC", 8}, chain.Dogecoin: {"DOGE", 8}, chain.Monero: {"XMR", 12}, chain.XRP: {"XRP", 6},
	chain.Stellar: {"XLM", 7}, chain.Cardano: {"ADA", 6}, chain.Algorand: {"ALGO", 6}, chain.Solana: {"SOL", 9},
}

// FormatAmount writes an amount of asset on c in whole units when the
// decimals are known ("1.5 ETH"), and in base units otherwise, exactly:
// the decimal point is placed in the integer's digits, never computed
// in floating point.
func FormatAmount(c chain.Chain, asset chain.Asset, a chain.Amount) string {
	n, ok := nativeDecimals[c]
	if asset != "" || !ok {
		unit := "base units"
		if asset != "" {
			unit += " of " + string(asset)
		}
		return a.String() + " " + unit
	}
	return Decimal(a.String(), n.decimals) + " " + n.symbol
}

// Decimal places a decimal point decimals digits from the right of the
// integer digits, trimming trailing zeros: Decimal("1500", 3) = "1.5".
func Decimal(digits string, decimals int) string {
	if decimals <= 0 {
		return digits
	}
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// reportStyle is the report's only style; the page allows it by hash and
// nothing else (ReportCSP).
const reportStyle = `body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:18pt;margin:0 0 .2em}h2{font-size:13pt;margin:1.6em 0 .4em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;font-size:9.5pt}th,td{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#eee}.mono{font-family:ui-monospace,monospace;word-break:break-all}.tlp{display:inline-block;padding:2px 8px;background:#000;font-weight:bold}
.tlp-red{color:#ff2b2b}.tlp-amber,.tlp-amberstrict{color:#ffc000}.tlp-green{color:#33ff00}.tlp-clear{color:#fff}
.note{white-space:pre-wrap}.meta{color:#444}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}`

// ReportCSP is the Content-Security-Policy to serve an HTML report
// with: no script at all, and only the report's own style.
var ReportCSP = func() string {
	sum := sha256.Sum256([]byte(reportStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"amount": FormatAmount,
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"tlpclass": func(c Case) string {
		return "tlp tlp-" + strings.NewReplacer("tlp:", "", "+", "").Replace(strings.ToLower(c.TLP.String()))
	},
	"detail": joinDetail,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Case.Reference}}: {{.Case.Title}}</title>
<style>{{.Style}}</style></head><body>
<p><span class="{{tlpclass .Case}}">{{.Case.TLP}}</span></p>
<h1>{{.Case.Reference}}: {{.Case.Title}}</h1>
<p class="meta">Case {{.Case.ID}}, version {{.Case.Version}}, {{.Case.Status}}. Opened by {{.Case.Creator}} on {{time .Case.Created}}; last changed {{time .Case.Updated}}. Report generated {{time .Now}}.</p>
{{with .Case.Summary}}<p class="note">{{.}}</p>{{end}}
{{with .Case.Seeds}}<h2>Seeds</h2><table><tr><th>Chain</th><th>Seed</th><th>Note</th><th>Added</th></tr>
{{range .}}<tr><td>{{.Chain}}</td><td class="mono">{{.Seed}}</td><td class="note">{{.Note}}</td><td>{{time .Added}} by {{.By}}</td></tr>{{end}}</table>{{end}}
{{with .Case.Addresses}}<h2>Addresses of interest</h2><table><tr><th>Chain</th><th>Address</th><th>Role</th><th>Note</th><th>Shared</th></tr>
{{range .}}<tr><td>{{.Chain}}</td><td class="mono">{{.Address}}</td><td>{{.Role}}</td><td class="note">{{.Note}}</td><td>{{if .Share}}yes{{else}}no{{end}}</td></tr>{{end}}</table>{{end}}
{{with .Case.Freezes}}<h2>Freeze requests</h2><table><tr><th>Id</th><th>Service</th><th>Address</th><th>Requested</th><th>Frozen</th><th>Released</th><th>Status</th><th>History</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.Service}}</td><td class="mono">{{.Chain}} {{.Address}}</td>
<td>{{amount .Chain .Asset .Requested}}<br><span class="mono">{{.Requested}}</span></td>
<td>{{amount .Chain .Asset .Frozen}}<br><span class="mono">{{.Frozen}}</span></td>
<td>{{amount .Chain .Asset .Released}}<br><span class="mono">{{.Released}}</span></td><td>{{.Status}}{{with .Reference}} (ref. {{.}}){{end}}</td>
<td>{{range .History}}{{time .Time}} {{.Status}} by {{.By}}{{with .Note}}: {{.}}{{end}}<br>{{end}}</td></tr>{{end}}</table>{{end}}
{{with .Case.Traces}}<h2>Saved traces</h2><table><tr><th>Trace</th><th>Version</th><th>Run</th><th>Result</th><th>SHA-256 of the result</th></tr>
{{range $t := .}}{{range .Versions}}<tr><td>{{$t.ID}} {{$t.Name}}</td><td>{{.Version}}</td><td>{{time .Created}} by {{.By}}</td>
<td>{{.Summary.Nodes}} addresses, {{.Summary.Endpoints}} endpoints, {{.Summary.Tainted}} base units tainted, through block {{.Summary.Through}}</td><td class="mono">{{.SHA256}}</td></tr>{{end}}{{end}}</table>{{end}}
{{with .Case.Alerts}}<h2>Linked alerts</h2><table><tr><th>Alert</th><th>Watch</th><th>Address</th><th>Linked</th></tr>
{{range .}}<tr><td class="mono">{{.ID}}</td><td>{{.Watch}}</td><td class="mono">{{.Chain}} {{.Address}}</td><td>{{time .Added}} by {{.By}}</td></tr>{{end}}</table>{{end}}
{{with .Case.Watches}}<h2>Linked watches</h2><p>{{range $i, $w := .}}{{if $i}}, {{end}}{{$w}}{{end}}</p>{{end}}
{{with .Case.Attachments}}<h2>Attachments</h2><table><tr><th>Id</th><th>Name</th><th>Type</th><th>Bytes</th><th>SHA-256</th><th>Added</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.ContentType}}</td><td>{{.Size}}</td><td class="mono">{{.SHA256}}</td><td>{{time .Added}} by {{.By}}</td></tr>{{end}}</table>{{end}}
{{with .Case.Notes}}<h2>Notes</h2>{{range .}}<p><strong>{{.ID}}</strong> <span class="meta">{{time .Time}} by {{.By}}</span></p><p class="note">{{.Text}}</p>{{end}}{{end}}
{{with .Case.Shares}}<h2>Shared with partners</h2><table><tr><th>Collection</th><th>TLP</th><th>Objects</th><th>When</th></tr>
{{range .}}<tr><td>{{.Collection}}</td><td>{{.TLP}}</td><td>{{.Objects}}</td><td>{{time .Time}} by {{.By}}</td></tr>{{end}}</table>{{end}}
<h2>Timeline (audit log)</h2><table><tr><th>#</th><th>Time</th><th>Who</th><th>What</th><th>Detail</th></tr>
{{range .Timeline}}<tr><td>{{.Seq}}</td><td>{{time .Time}}</td><td>{{.Actor}}</td><td>{{.Action}}</td><td class="mono">{{detail .Detail}}</td></tr>{{end}}</table>
{{with .Head}}<p class="meta">The last entry's hash in the node's hash-chained audit log is <span class="mono">{{.}}</span>: the audit log verifies every entry above.</p>{{end}}
<p><span class="{{tlpclass .Case}}">{{.Case.TLP}}</span></p>
</body></html>
`))

// joinDetail writes an audit entry's detail as sorted key=value pairs.
func joinDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	return strings.Join(parts, " ")
}

// WriteHTML writes c as a printable HTML report: every value escaped by
// html/template, no script, one style allowed by ReportCSP.
func WriteHTML(w io.Writer, c Case, timeline []audit.Entry, now time.Time) error {
	head := ""
	if len(timeline) > 0 {
		head = timeline[len(timeline)-1].Hash
	}
	err := reportTemplate.Execute(w, struct {
		Case     Case
		Timeline []audit.Entry
		Head     string
		Now      time.Time
		Style    template.CSS
	}{c, timeline, head, now, template.CSS(reportStyle)})
	if err != nil {
		return fmt.Errorf("case report: %w", err)
	}
	return nil
}
