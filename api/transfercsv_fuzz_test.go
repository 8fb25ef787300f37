package api

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"strconv"
	"testing"
)

// FuzzReadTransferCSV: whatever a registration file holds, reading it
// either fails or gives rows with increasing line numbers that write
// back to a file reading as the same requests.
func FuzzReadTransferCSV(f *testing.F) {
	f.Add([]byte("id,customer,chain,tx,counterparty,amount,direction\nT-1,C-1,eth,0x01,0x02,10,deposit\n"))
	f.Add([]byte("\ufeffDirection, Amount ,address,tx,chain,customer,id,index,asset,time\ndeposit,5,0xab,0xcd,eth,C,T-2,3,,2025-01-01T00:00:00Z\n\n"))
	f.Add([]byte("id,customer,chain,tx,counterparty,amount,direction,index\nT,C,btc,ab,1A,1,deposit,-1\n"))
	f.Add([]byte("id,id,customer\n"))
	f.Add([]byte("id,customer,chain,tx,counterparty,amount,direction\n\"T,1\",\"C\nD\",eth,x,y,1,withdrawal\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadTransferCSV(bytes.NewReader(data), "in.csv")
		if err != nil {
			return
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"id", "customer", "chain", "tx", "index", "counterparty", "asset", "amount", "direction", "time"})
		last := 0
		for _, r := range rows {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			idx := ""
			if r.Request.Index != nil {
				idx = strconv.FormatUint(uint64(*r.Request.Index), 10)
			}
			q := r.Request
			w.Write([]string{q.ID, q.Customer, q.Chain, q.Tx, idx, q.Counterparty, q.Asset, q.Amount, q.Direction, q.Time})
		}
		w.Flush()
		back, err := ReadTransferCSV(bytes.NewReader(b.Bytes()), "again.csv")
		if err != nil {
			// A row of blank fields written back reads as a blank line.
			for _, r := range rows {
				if r.Request != (rows[0].Request) || r.Request.ID != "" {
					t.Fatalf("rows written back do not read: %v\n%s", err, b.Bytes())
				}
			}
			return
		}
		got := make([]any, 0, len(back))
		want := make([]any, 0, len(rows))
		for _, r := range back {
			got = append(got, r.Request)
		}
		for _, r := range rows {
			want = append(want, r.Request)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	})
}
