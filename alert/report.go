package alert

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/trace/report"
)

// Report is the draft of a suspicious-transaction report from one
// alert: what a compliance officer files with the financial intelligence
// unit once reviewed (the goAML and FinCEN SAR forms ask for the
// subjects, the transactions, the amounts, the typology and a narrative).
// It is a draft: the node fills in what it knows; the officer completes
// the reporting entity's and the customer's details.
type Report struct {
	Title    string    `json:"title"`
	Alert    string    `json:"alert"`
	Kind     Kind      `json:"kind"`
	Severity Severity  `json:"severity"`
	Status   Status    `json:"status"`
	Assignee string    `json:"assignee,omitempty"`
	Raised   time.Time `json:"raised"`
	Prepared time.Time `json:"prepared"`
	Subjects []Subject `json:"subjects"`
	// Transactions are the on-chain transactions the alert names.
	Transactions []ReportTx `json:"transactions"`
	Typology     string     `json:"typology,omitempty"`
	Score        float64    `json:"score,omitempty"`
	// Amounts are exact, in whole units where known, with their base
	// units beside them.
	Amounts []report.Amount `json:"amounts"`
	// Transfers are the customer transfers registered with the node that
	// the alert concerns.
	Transfers []ReportTransfer     `json:"transfers,omitempty"`
	Model     *detect.AccountScore `json:"model,omitempty"`
	Narrative string               `json:"narrative"`
	Review    []Change             `json:"review,omitempty"`
}

// Subject is an address the report is about.
type Subject struct {
	Chain   chain.Chain `json:"chain"`
	Address string      `json:"address"`
	// Role says what the address is in the alert.
	Role string `json:"role"`
}

// ReportTx is one transaction a report names.
type ReportTx struct {
	Chain chain.Chain `json:"chain"`
	Hash  string      `json:"hash"`
}

// ReportTransfer is a registered customer transfer a report names.
type ReportTransfer struct {
	ID           string        `json:"id"`
	Customer     string        `json:"customer"`
	Direction    Direction     `json:"direction"`
	Chain        chain.Chain   `json:"chain"`
	Tx           string        `json:"tx"`
	Counterparty string        `json:"counterparty"`
	Amount       report.Amount `json:"amount"`
	Time         time.Time     `json:"time,omitzero"`
	Registered   time.Time     `json:"registered"`
	Action       Action        `json:"action"`
	Check        CheckStatus   `json:"chain_check"`
}

// Draft drafts the report of alert a, naming the registered transfers ts
// it concerns; units writes amounts in whole units.
func Draft(a Alert, ts []Transfer, units report.Units, now time.Time) Report {
	r := Report{
		Title: fmt.Sprintf("Suspicious transaction report (draft): %s", headline(&a)),
		Alert: a.ID, Kind: a.Kind, Severity: a.Severity, Status: a.Status, Assignee: a.Assignee,
		Raised: a.Raised, Prepared: now.UTC(), Typology: a.Typology, Score: a.Score, Model: a.Model, Review: a.History,
		Subjects: []Subject{}, Transactions: []ReportTx{}, Amounts: []report.Amount{},
	}
	for i, ad := range a.Addresses {
		role := "party to the pattern"
		switch {
		case i == 0 && a.Kind == KindWatch:
			role = "service address holding traced funds"
		case i == 0:
			role = "subject"
		}
		r.Subjects = append(r.Subjects, Subject{Chain: a.Chain, Address: ad, Role: role})
	}
	for _, tx := range a.Txs {
		r.Transactions = append(r.Transactions, ReportTx{Chain: a.Chain, Hash: tx})
	}
	for _, am := range a.Amounts {
		r.Amounts = append(r.Amounts, report.NewAmount(am.Chain, am.Asset, am.Value, units))
	}
	for _, t := range ts {
		r.Transfers = append(r.Transfers, ReportTransfer{ID: t.ID, Customer: t.Customer, Direction: t.Direction, Chain: t.Chain, Tx: t.Tx,
			Counterparty: t.Counterparty, Amount: report.NewAmount(t.Chain, t.Asset, t.Amount, units), Time: t.Time, Registered: t.Registered,
			Action: t.Decision.Action, Check: t.Check.Status})
		if !containsSubject(r.Subjects, t.Chain, t.Counterparty) {
			r.Subjects = append(r.Subjects, Subject{Chain: t.Chain, Address: t.Counterparty, Role: "customer's counterparty address"})
		}
		if t.Tx != "" && !containsTx(r.Transactions, t.Tx) {
			r.Transactions = append(r.Transactions, ReportTx{Chain: t.Chain, Hash: t.Tx})
		}
	}
	r.Narrative = narrative(&a, &r)
	return r
}

func containsSubject(ss []Subject, c chain.Chain, addr string) bool {
	for _, s := range ss {
		if s.Chain == c && s.Address == addr {
			return true
		}
	}
	return false
}

func containsTx(ts []ReportTx, h string) bool {
	for _, t := range ts {
		if strings.EqualFold(t.Hash, h) {
			return true
		}
	}
	return false
}

// headline names the alert in a few words.
func headline(a *Alert) string {
	subject := ""
	if len(a.Addresses) > 0 {
		subject = " at " + a.Addresses[0]
	}
	switch a.Kind {
	case KindRule:
		return fmt.Sprintf("%s pattern%s", a.Typology, subject)
	case KindWatch:
		return fmt.Sprintf("traced funds of case %s%s", a.Links.Watch, subject)
	case KindScorer:
		return "address rated illicit by the learned scorer" + subject
	case KindTransfer:
		return "risky customer transfer" + subject
	case KindRetroactive:
		return "past customer transfers now risky" + subject
	}
	return string(a.Kind) + subject
}

// narrative writes the report's narrative: what was seen, how much, and
// where the review stands, in the order an analyst reads a SAR.
func narrative(a *Alert, r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "On %s tracehound raised a %s-severity %s alert (%s). %s",
		a.Raised.UTC().Format("2 January 2006 at 15:04 UTC"), a.Severity, a.Kind, a.ID, strings.TrimSpace(a.Explanation))
	if !strings.HasSuffix(b.String(), ".") {
		b.WriteString(".")
	}
	if len(r.Amounts) > 0 {
		parts := make([]string, len(r.Amounts))
		for i, am := range r.Amounts {
			parts[i] = am.Text
			if am.Known {
				parts[i] += " (" + am.BaseText + ")"
			}
		}
		fmt.Fprintf(&b, " Amounts involved: %s.", strings.Join(parts, "; "))
	}
	if n := len(r.Transactions); n > 0 {
		fmt.Fprintf(&b, " %d transaction(s) are named below.", n)
	}
	for _, t := range r.Transfers {
		verb, prep := "deposited", "from"
		if t.Direction == Withdrawal {
			verb, prep = "withdrew", "to"
		}
		fmt.Fprintf(&b, " Customer %s %s %s %s %s in transaction %s (the exchange's transfer %s, registered %s, decided %s; the chain check %s).",
			t.Customer, verb, t.Amount.Text, prep, t.Counterparty, t.Tx, t.ID, t.Registered.UTC().Format(time.DateOnly), t.Action, checkWords(t.Check))
	}
	if a.Model != nil {
		fmt.Fprintf(&b, " The learned scorer rates %s %.3f (illicit at 0.5 and above).", a.Model.Address, a.Model.Score)
	}
	switch a.Status {
	case StatusAssigned:
		fmt.Fprintf(&b, " The alert is under review by %s.", a.Assignee)
	case StatusEscalated:
		fmt.Fprintf(&b, " The alert was escalated")
		if a.Reason != "" {
			fmt.Fprintf(&b, ": %s", a.Reason)
		}
		b.WriteString(".")
	case StatusDismissed:
		fmt.Fprintf(&b, " The alert was dismissed: %s.", a.Reason)
	default:
		b.WriteString(" The alert has not been reviewed yet.")
	}
	b.WriteString(" Rule findings and scores are heuristic: they say the flows have a shape laundering has, not that they are laundering.")
	return b.String()
}

func checkWords(s CheckStatus) string {
	switch s {
	case CheckAgrees:
		return "agrees with the chain"
	case CheckDisagrees:
		return "found the chain disagreeing"
	case CheckUnknownTx:
		return "did not find the transaction"
	case CheckNotIngested:
		return "could not run: the chain is not ingested"
	}
	return string(s)
}

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font: 11pt/1.45 Georgia, serif; max-width: 50em; margin: 2em auto; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; border-bottom: 1px solid #999; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
td.mono, span.mono { font-family: ui-monospace, monospace; word-break: break-all; }
.draft { color: #a00; font-weight: bold; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
</style>
</head>
<body>
<p class="draft">DRAFT: to be reviewed and completed by the reporting entity before filing.</p>
<h1>{{.Title}}</h1>
<table>
<tr><th>Alert</th><td class="mono">{{.Alert}}</td><th>Kind</th><td>{{.Kind}}</td></tr>
<tr><th>Severity</th><td>{{.Severity}}</td><th>Status</th><td>{{.Status}}{{if .Assignee}} ({{.Assignee}}){{end}}</td></tr>
<tr><th>Raised</th><td>{{time .Raised}}</td><th>Prepared</th><td>{{time .Prepared}}</td></tr>
{{if .Typology}}<tr><th>Typology</th><td>{{.Typology}}</td><th>Score</th><td>{{printf "%.3f" .Score}}</td></tr>{{end}}
</table>
<h2>Narrative</h2>
<p>{{.Narrative}}</p>
<h2>Subjects</h2>
<table><tr><th>Chain</th><th>Address</th><th>Role</th></tr>
{{range .Subjects}}<tr><td>{{.Chain}}</td><td class="mono">{{.Address}}</td><td>{{.Role}}</td></tr>
{{end}}</table>
{{if .Amounts}}<h2>Amounts</h2>
<table><tr><th>Amount</th><th>Base units</th></tr>
{{range .Amounts}}<tr><td>{{.Text}}</td><td class="mono">{{.BaseText}}</td></tr>
{{end}}</table>{{end}}
{{if .Transfers}}<h2>Customer transfers</h2>
<table><tr><th>Transfer</th><th>Customer</th><th>Direction</th><th>Amount</th><th>Counterparty</th><th>Transaction</th><th>Decision</th><th>Chain check</th></tr>
{{range .Transfers}}<tr><td class="mono">{{.ID}}</td><td>{{.Customer}}</td><td>{{.Direction}}</td><td>{{.Amount.Text}}</td><td class="mono">{{.Counterparty}}</td><td class="mono">{{.Tx}}</td><td>{{.Action}}</td><td>{{.Check}}</td></tr>
{{end}}</table>{{end}}
<h2>Transactions</h2>
<table><tr><th>Chain</th><th>Hash</th></tr>
{{range .Transactions}}<tr><td>{{.Chain}}</td><td class="mono">{{.Hash}}</td></tr>
{{end}}</table>
{{if .Model}}<h2>Learned scorer</h2>
<p>{{.Model.Address}}: score {{printf "%.3f" .Model.Score}}{{if .Model.Illicit}} (illicit){{end}}. Features that weighed most:</p>
<table><tr><th>Feature</th><th>Value</th><th>Log-odds added</th></tr>
{{range .Model.Top}}<tr><td>{{.Feature}}</td><td>{{printf "%.6g" .Value}}</td><td>{{printf "%+.3f" .Margin}}</td></tr>
{{end}}</table>{{end}}
{{if .Review}}<h2>Review</h2>
<table><tr><th>Time</th><th>By</th><th>Status</th><th>Assignee</th><th>Reason</th></tr>
{{range .Review}}<tr><td>{{time .Time}}</td><td>{{.Actor}}</td><td>{{.Status}}</td><td>{{.Assignee}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
</body>
</html>
`))

// WriteHTML writes the report as a printable page. Every value is
// escaped: addresses, reasons and customer references come from outside.
func (r *Report) WriteHTML(w io.Writer) error { return reportHTML.Execute(w, r) }
