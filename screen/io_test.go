package screen_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

func TestReadQueries(t *testing.T) {
	qs, err := screen.ReadQueries(strings.NewReader("# deposits\n0xabc\n\n  1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa \n"), "list.txt", chain.Bitcoin)
	if err != nil || len(qs) != 2 || qs[0].Address != "0xabc" || qs[1].Address != "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" || qs[1].Chain != chain.Bitcoin {
		t.Fatalf("lines: %+v %v", qs, err)
	}
	qs, err = screen.ReadQueries(strings.NewReader("id,Address,Chain\n1,0xabc,ETH\n2,TXYZ,trx\n"), "deposits.csv", "")
	if err != nil || len(qs) != 2 || qs[0].Chain != chain.Ethereum || qs[1].Chain != chain.Tron || qs[1].Address != "TXYZ" {
		t.Fatalf("csv: %+v %v", qs, err)
	}
	// A one-column CSV: its header is not an address.
	qs, err = screen.ReadQueries(strings.NewReader("Address\r\n0xabc\n0xdef\n"), "one.csv", chain.Ethereum)
	if err != nil || len(qs) != 2 || qs[0].Address != "0xabc" || qs[1].Address != "0xdef" || qs[0].Chain != chain.Ethereum {
		t.Fatalf("one-column csv: %+v %v", qs, err)
	}
	if _, err := screen.ReadQueries(strings.NewReader("id,wallet\n1,0xabc\n"), "bad.csv", ""); err == nil || !strings.Contains(err.Error(), `bad.csv`) || !strings.Contains(err.Error(), `"address"`) {
		t.Errorf("a CSV without an address column: %v", err)
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	rs := []screen.Result{{Input: "x", Address: "0xabc", Chain: chain.Ethereum, Risk: screen.High, Reasons: []screen.Reason{{Message: "flagged"}}, RiskRule: "mixer-in-direct-high",
		Exposure: []exposure.Entry{{Category: tags.Mixer, Direction: exposure.Incoming, Hops: 1, Amount: chain.NewAmount(1000), Share: 0.25, Rule: "mixer-in-direct-high"}}},
		{Input: "bad", Error: &screen.InputError{Reason: "checksum", Message: "wrong case"}}}
	if err := screen.WriteCSV(&b, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "input,chain,address,risk") || !strings.Contains(lines[1], "0xabc,high,false") || !strings.Contains(lines[2], "checksum: wrong case") ||
		!strings.HasSuffix(lines[1], ",mixer-in-direct-high,mixer incoming 1 hop 25% (1000 native) [mixer-in-direct-high]") {
		t.Errorf("csv:\n%s", b.String())
	}
}
