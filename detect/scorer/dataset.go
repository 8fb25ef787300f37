package scorer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Dataset is a feature matrix in row order. A missing value is NaN: it is
// never read as zero, and the trees route it by their learned default.
type Dataset struct {
	Features  []string
	Addresses []string
	// Labels holds 1 for illicit, 0 for normal, -1 where the input had no
	// label.
	Labels []int8
	// X is row-major: X[i*len(Features)+j] is feature j of row i.
	X []float64
	// Lines are the 1-based line numbers of the rows in the input.
	Lines []int
}

// Len is the number of rows.
func (d *Dataset) Len() int { return len(d.Addresses) }

// Row returns row i's features (a view, not a copy).
func (d *Dataset) Row(i int) []float64 {
	n := len(d.Features)
	return d.X[i*n : (i+1)*n : (i+1)*n]
}

// Columns of the Ethereum fraud layout that are not features: the two row
// numbers (Index restarts per class in the published file, so it leaks the
// label), the address, the label and the two token-name columns (free text
// with a long tail of names; the counts of unique token names carry what
// the graph can reproduce).
var nonFeatures = map[string]bool{
	"":                           true,
	"Index":                      true,
	"Address":                    true,
	"FLAG":                       true,
	"ERC20 most sent token type": true,
	"ERC20_most_rec_token_type":  true,
}

// ReadCSV reads rows in the layout of the Ethereum fraud data set
// (Farrugia et al. 2020, train.csv): a header row whose names may carry
// leading or trailing spaces, an Address column, an optional FLAG column
// and numeric feature columns in which a blank cell is a missing value.
//
// With want nil, every numeric column becomes a feature in file order.
// Otherwise the features are want, in that order, each looked up by its
// trimmed name; a feature the file lacks is an error, since scoring it as
// missing on every row would hide a layout mistake.
func ReadCSV(r io.Reader, want []string) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("line 1: empty input, want a header row")
		}
		return nil, fmt.Errorf("line 1: %w", err)
	}
	col := map[string]int{}
	var names []string
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; dup && h != "" {
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		col[h] = i
		if !nonFeatures[h] {
			names = append(names, h)
		}
	}
	addrCol, ok := col["Address"]
	if !ok {
		return nil, errors.New("line 1: no Address column")
	}
	flagCol, hasFlag := col["FLAG"]
	if want == nil {
		want = names
	}
	idx := make([]int, len(want))
	for j, f := range want {
		i, ok := col[f]
		if !ok {
			return nil, fmt.Errorf("line 1: no column %q, which the model needs", f)
		}
		idx[j] = i
	}
	d := &Dataset{Features: append([]string(nil), want...)}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A csv.ParseError names its line.
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", line, len(rec), len(header))
		}
		addr := strings.ToLower(strings.TrimSpace(rec[addrCol]))
		if addr == "" {
			return nil, fmt.Errorf("line %d: empty Address", line)
		}
		label := int8(-1)
		if hasFlag {
			switch strings.TrimSpace(rec[flagCol]) {
			case "0":
				label = 0
			case "1":
				label = 1
			case "":
			default:
				return nil, fmt.Errorf("line %d: FLAG %q, want 0 or 1", line, rec[flagCol])
			}
		}
		for j, i := range idx {
			v, err := parseFeature(rec[i])
			if err != nil {
				return nil, fmt.Errorf("line %d: column %q: %w", line, want[j], err)
			}
			d.X = append(d.X, v)
		}
		d.Addresses = append(d.Addresses, addr)
		d.Labels = append(d.Labels, label)
		d.Lines = append(d.Lines, line)
	}
	return d, nil
}

// parseFeature reads one numeric cell; blank is missing (NaN).
func parseFeature(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", s)
	}
	return v, nil
}
