// Package scorer is tracehound's learned illicit-account scorer: a
// gradient-boosted tree ensemble over an account's behavioural features
// (the Ethereum fraud data set's: times between transactions, counts,
// value statistics, counterparties, ERC-20 aggregates), trained and run in
// Go. Missing values are native: each split learned where a missing value
// goes, so a feature the data lacks is never read as zero.
//
// The model trained on the published data set is embedded (Default); the
// command ./detect/scorer/cmd/trainscorer reproduces it and its report.
package scorer

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"sync"
)

//go:embed model/ethfraud.json
var defaultModel []byte

var loadDefault = sync.OnceValues(func() (*Model, error) { return Load(bytes.NewReader(defaultModel)) })

// Default returns the embedded model trained on the Ethereum fraud data
// set. It is shared: do not modify it.
func Default() (*Model, error) { return loadDefault() }

// Threshold is the score at and above which an account is called illicit.
const Threshold = 0.5

// Result is one scored account.
type Result struct {
	Address string  `json:"address"`
	Score   float64 `json:"score"`
	Illicit bool    `json:"illicit"`
	// Line is the input line of the row, where the row came from a file.
	Line int `json:"line,omitempty"`
}

// ScoreDataset scores every row of d, whose features must be the model's
// in order.
func (m *Model) ScoreDataset(d *Dataset) ([]Result, error) {
	if len(d.Features) != len(m.Features) {
		return nil, fmt.Errorf("data has %d features, the model %d", len(d.Features), len(m.Features))
	}
	for j := range d.Features {
		if d.Features[j] != m.Features[j] {
			return nil, fmt.Errorf("feature %d is %q, the model expects %q", j, d.Features[j], m.Features[j])
		}
	}
	out := make([]Result, d.Len())
	for i := range out {
		s := m.Score(d.Row(i))
		out[i] = Result{Address: d.Addresses[i], Score: s, Illicit: s >= Threshold, Line: d.Lines[i]}
	}
	return out, nil
}

// ScoreCSV reads rows in the layout of the training CSV (header names may
// carry spaces; FLAG is optional; a blank cell is a missing value) and
// writes "address,score" lines, score in [0, 1], >= 0.5 meaning illicit.
// A malformed row stops the run with its line number; nothing is written
// for a file that does not parse.
func (m *Model) ScoreCSV(r io.Reader, w io.Writer) error {
	d, err := ReadCSV(r, m.Features)
	if err != nil {
		return err
	}
	res, err := m.ScoreDataset(d)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("address,score\n")
	var buf []byte
	for _, r := range res {
		buf = append(buf[:0], r.Address...)
		buf = append(buf, ',')
		// Shortest exact form: a score just under 0.5 never prints as 0.5.
		buf = strconv.AppendFloat(buf, r.Score, 'f', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}
