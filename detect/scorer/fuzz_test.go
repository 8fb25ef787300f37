package scorer

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadCSV checks a round trip: whatever ReadCSV accepts, written back
// as CSV (blank for a missing value) and read again, gives the same rows,
// with missing values where they were.
func FuzzReadCSV(f *testing.F) {
	f.Add(",Index,Address,FLAG, a , b\n0,1,0xAB,1,1.5,\n1,2,0xcd,0,-2,3e5\n")
	f.Add("Address,x\n\"0x,1\",\n")
	f.Add("Address,FLAG,x\n0x1,,7\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ReadCSV(strings.NewReader(in), nil)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(append([]string{"Address", "FLAG"}, d.Features...))
		for i := range d.Len() {
			rec := []string{d.Addresses[i], ""}
			if d.Labels[i] >= 0 {
				rec[1] = strconv.Itoa(int(d.Labels[i]))
			}
			for _, v := range d.Row(i) {
				s := ""
				if !math.IsNaN(v) {
					s = strconv.FormatFloat(v, 'g', -1, 64)
				}
				rec = append(rec, s)
			}
			w.Write(rec)
		}
		w.Flush()
		d2, err := ReadCSV(&buf, d.Features)
		if err != nil {
			t.Fatalf("rewritten data does not read back: %v\n%s", err, buf.String())
		}
		if d2.Len() != d.Len() {
			t.Fatalf("%d rows, then %d", d.Len(), d2.Len())
		}
		for i := range d.Len() {
			if d.Addresses[i] != d2.Addresses[i] || d.Labels[i] != d2.Labels[i] {
				t.Fatalf("row %d: %q %d, then %q %d", i, d.Addresses[i], d.Labels[i], d2.Addresses[i], d2.Labels[i])
			}
			for j, v := range d.Row(i) {
				v2 := d2.Row(i)[j]
				if math.IsNaN(v) != math.IsNaN(v2) || !math.IsNaN(v) && v != v2 {
					t.Fatalf("row %d feature %d: %v, then %v", i, j, v, v2)
				}
			}
		}
	})
}
