package screen

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
)

// ReadQueries reads addresses to screen: one a line (blank lines and
// lines starting with # skipped), or a CSV whose header names an
// "address" column and optionally a "chain" (or "currency", "asset") one.
// name names the input in errors; hint is the chain of every address
// unless a chain column says otherwise.
func ReadQueries(r io.Reader, name string, hint chain.Chain) ([]Query, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := br.Peek(256)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	header := strings.ToLower(string(first))
	if i := strings.IndexByte(header, '\n'); i >= 0 {
		header = header[:i]
	}
	// A CSV of one column has no comma: its header alone says it is one.
	if strings.Contains(header, ",") || strings.TrimSpace(strings.TrimPrefix(header, "\ufeff")) == "address" {
		return readQueriesCSV(name, br, hint)
	}
	var qs []Query
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		qs = append(qs, Query{Address: line, Chain: hint})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return qs, nil
}

func readQueriesCSV(path string, r io.Reader, hint chain.Chain) ([]Query, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	ai, ci := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "address":
			ai = i
		case "chain", "currency", "asset":
			ci = i
		}
	}
	if ai < 0 {
		return nil, fmt.Errorf("read %s: CSV header %q has no \"address\" column", path, strings.Join(head, ","))
	}
	var qs []Query
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if ai >= len(rec) {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("read %s line %d: no address column", path, line)
		}
		q := Query{Address: rec[ai], Chain: hint}
		if ci >= 0 && ci < len(rec) && hint == "" {
			q.Chain = chain.ParseChain(rec[ci])
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// WriteCSV writes results as CSV, one row an address: the verdict, the
// sanctions parties and programs, the attributions, the reasons, and the
// error of an invalid address.
func WriteCSV(w io.Writer, results []Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"input", "chain", "address", "risk", "sanctioned", "parties", "programs", "entities", "categories", "reasons", "error", "risk_rule", "exposure"})
	for _, r := range results {
		var parties, programs, entities, categories, reasons []string
		for _, s := range r.Sanctions {
			parties = appendUnique(parties, s.Party)
			for _, p := range s.Programs {
				programs = appendUnique(programs, p)
			}
		}
		for _, at := range r.Attributions {
			entities = appendUnique(entities, at.Entity)
			categories = appendUnique(categories, string(at.Category))
		}
		for _, rs := range r.Reasons {
			reasons = append(reasons, rs.Message)
		}
		errText := ""
		if r.Error != nil {
			errText = r.Error.Reason + ": " + r.Error.Message
		}
		var exp []string
		for _, e := range r.Exposure {
			exp = append(exp, ExposureText(&e))
		}
		_ = cw.Write([]string{r.Input, string(r.Chain), r.Address, r.Risk.String(), strconv.FormatBool(r.Sanctioned),
			strings.Join(parties, "; "), strings.Join(programs, "; "), strings.Join(entities, "; "), strings.Join(categories, "; "),
			strings.Join(reasons, "; "), errText, r.RiskRule, strings.Join(exp, "; ")})
	}
	cw.Flush()
	return cw.Error()
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// ExposureText is one exposure entry on a line: category, direction,
// hops, share, exact amount and asset, and the rule it met.
func ExposureText(e *exposure.Entry) string {
	asset := "native"
	if e.Asset != chain.Native {
		asset = string(e.Asset)
	}
	s := fmt.Sprintf("%s %s %d hop", e.Category, e.Direction, e.Hops)
	if e.Hops != 1 {
		s += "s"
	}
	s += fmt.Sprintf(" %s%% (%s %s)", strconv.FormatFloat(e.Share*100, 'g', 3, 64), e.Amount, asset)
	if e.Rule != "" {
		s += " [" + e.Rule + "]"
	}
	return s
}
