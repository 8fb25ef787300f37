package sanctions

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// digitalCurrency finds addresses in SDN.CSV remarks:
// "Digital Currency Address - XBT 1abc...;".
var digitalCurrency = regexp.MustCompile(`Digital Currency Address - ([A-Za-z0-9]+)\s+([^\s;]+)`)

// legacyRow is one SDN.CSV party.
type legacyRow struct {
	entNum, name, sdnType string
	programs              []string
	remarks               string
	line                  int
}

// parseCSVFile reads SDN.CSV (and SDN_COMMENTS.CSV, whose rows continue
// the remarks of the party with the same ent_num where SDN.CSV cut them).
func parseCSVFile(ctx context.Context, r io.Reader, commentsPath string, l *List) error {
	rows, err := readLegacy(ctx, r)
	if err != nil {
		return err
	}
	if commentsPath != "" {
		f, err := os.Open(commentsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		comments, err := readComments(ctx, f)
		if err != nil {
			return fmt.Errorf("%s: %w", commentsPath, err)
		}
		for i := range rows {
			rows[i].remarks += comments[rows[i].entNum]
		}
	}
	for _, row := range rows {
		for _, m := range digitalCurrency.FindAllStringSubmatch(row.remarks, -1) {
			l.Entries = append(l.Entries, Entry{Asset: m[1], Address: m[2],
				Party: Party{FixedRef: row.entNum, Name: row.name, Programs: row.programs}})
		}
	}
	return nil
}

func readLegacy(ctx context.Context, r io.Reader) ([]legacyRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var rows []legacyRow
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("SDN.CSV: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "\x1a" {
			continue // DOS end-of-file marker OFAC appends
		}
		if len(rec) != 12 {
			return nil, fmt.Errorf("SDN.CSV line %d: %d fields, want 12 (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks)", line, len(rec))
		}
		ent := strings.TrimSpace(rec[0])
		if ent == "" || strings.Trim(ent, "0123456789") != "" {
			return nil, fmt.Errorf("SDN.CSV line %d: ent_num %q is not a number", line, rec[0])
		}
		row := legacyRow{entNum: ent, name: clean(rec[1]), sdnType: clean(rec[2]), remarks: clean(rec[11]), line: line}
		for _, p := range strings.Split(clean(rec[3]), "] [") {
			if p = strings.Trim(p, "[] "); p != "" {
				row.programs = append(row.programs, p)
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("SDN.CSV: no rows")
	}
	return rows, nil
}

func readComments(ctx context.Context, r io.Reader) (map[string]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	out := make(map[string]string)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("SDN_COMMENTS.CSV: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "\x1a" {
			continue
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("SDN_COMMENTS.CSV line %d: %d fields, want ent_num and remarks", line, len(rec))
		}
		out[strings.TrimSpace(rec[0])] += clean(rec[1])
	}
}

// clean turns SDN.CSV's "-0- " (empty) into "".
func clean(s string) string {
	if strings.TrimSpace(s) == "-0-" {
		return ""
	}
	return strings.TrimSpace(s)
}
