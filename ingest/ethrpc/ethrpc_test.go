package ethrpc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
)

// A block as geth answers eth_getBlockByNumber, eth_getBlockReceipts and
// debug_traceBlockByNumber (callTracer), trimmed to the fields read: one
// contract call that forwards value, emits an ERC-20 Transfer and has a
// reverted subcall.
const (
	sampleBlock = `{"number":"0x5","hash":"0x1111111111111111111111111111111111111111111111111111111111111111",
"parentHash":"0x2222222222222222222222222222222222222222222222222222222222222222","timestamp":"0x6553f100",
"transactions":[{"hash":"0x3333333333333333333333333333333333333333333333333333333333333333","from":"0x00000000000000000000000000000000000000a1",
"to":"0x00000000000000000000000000000000000000c1","value":"0x3e8","transactionIndex":"0x0","gasPrice":"0x2"}]}`
	sampleReceipts = `[{"transactionHash":"0x3333333333333333333333333333333333333333333333333333333333333333",
"blockHash":"0x1111111111111111111111111111111111111111111111111111111111111111","status":"0x1","gasUsed":"0x5208","effectiveGasPrice":"0x3",
"logs":[{"address":"0x00000000000000000000000000000000000000e2","logIndex":"0x7","data":"0x00000000000000000000000000000000000000000000000000000000000000ff",
"topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef","0x00000000000000000000000000000000000000000000000000000000000000a1","0x00000000000000000000000000000000000000000000000000000000000000b1"]}]}]`
	sampleTraces = `[{"txHash":"0x3333333333333333333333333333333333333333333333333333333333333333","result":{"type":"CALL","from":"0x00000000000000000000000000000000000000a1","to":"0x00000000000000000000000000000000000000c1","value":"0x3e8",
"calls":[{"type":"CALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000b1","value":"0x64"},
{"type":"CALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000d1","value":"0x10","error":"execution reverted",
 "calls":[{"type":"CALL","from":"0x00000000000000000000000000000000000000d1","to":"0x00000000000000000000000000000000000000e1","value":"0x10"}]},
{"type":"DELEGATECALL","from":"0x00000000000000000000000000000000000000c1","to":"0x00000000000000000000000000000000000000f1","value":"0x3e8"}]}}]`
)

func decodeSample(t testing.TB, block, receipts, traces string) (*chain.Block, error) {
	var b rpcBlock
	if err := json.Unmarshal([]byte(block), &b); err != nil {
		return nil, err
	}
	if err := b.check(5); err != nil {
		return nil, err
	}
	var rs []rpcReceipt
	if err := json.Unmarshal([]byte(receipts), &rs); err != nil {
		return nil, err
	}
	var ts []rpcTrace
	if err := json.Unmarshal([]byte(traces), &ts); err != nil {
		return nil, err
	}
	return mapBlock(&b, rs, ts)
}

func TestMapBlock(t *testing.T) {
	b, err := decodeSample(t, sampleBlock, sampleReceipts, sampleTraces)
	if err != nil {
		t.Fatal(err)
	}
	tx := b.Txs[0]
	if tx.Fee.String() != "63000" || tx.Failed {
		t.Errorf("fee %s failed %v", tx.Fee, tx.Failed)
	}
	var got []string
	for _, tr := range tx.Transfers {
		got = append(got, strings.Join([]string{tr.Kind.String(), tr.From[40:], tr.To[40:], string(tr.Asset), tr.Amount.String()}, " "))
	}
	// The reverted subcall and everything below it moved nothing; the
	// DELEGATECALL repeats the caller's value and moves none.
	want := "native a1 c1  1000|internal c1 b1  100|token a1 b1 0x00000000000000000000000000000000000000e2 255"
	if strings.Join(got, "|") != want {
		t.Errorf("transfers\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}

	failed := strings.Replace(sampleReceipts, `"status":"0x1"`, `"status":"0x0"`, 1)
	b, err = decodeSample(t, sampleBlock, failed, sampleTraces)
	if err != nil || !b.Txs[0].Failed || len(b.Txs[0].Transfers) != 0 || b.Txs[0].Fee.String() != "63000" {
		t.Errorf("failed transaction: %+v %v", b.Txs[0], err)
	}
	otherBlock := strings.Replace(sampleReceipts, `"blockHash":"0x1111`, `"blockHash":"0x9999`, 1)
	if _, err := decodeSample(t, sampleBlock, otherBlock, sampleTraces); err == nil || !strings.Contains(err.Error(), "is from block") {
		t.Errorf("receipt from another block: %v", err)
	}
	noGas := strings.Replace(sampleReceipts, `"gasUsed":"0x5208",`, ``, 1)
	if _, err := decodeSample(t, sampleBlock, noGas, sampleTraces); err == nil || !strings.Contains(err.Error(), "gasUsed") {
		t.Errorf("receipt without gasUsed: %v", err)
	}
}

// FuzzMapBlock feeds hostile node answers through decoding and mapping:
// errors are fine, panics and transfers out of nothing are not.
func FuzzMapBlock(f *testing.F) {
	f.Add(sampleBlock, sampleReceipts, sampleTraces)
	f.Add(sampleBlock, `[]`, `[]`)
	f.Add(`{"number":"0x5"}`, `null`, `null`)
	f.Fuzz(func(t *testing.T, block, receipts, traces string) {
		b, err := decodeSample(t, block, receipts, traces)
		if err != nil {
			return
		}
		for _, tx := range b.Txs {
			if tx.Failed && len(tx.Transfers) > 0 {
				t.Fatalf("failed tx with transfers")
			}
			for _, tr := range tx.Transfers {
				if tr.From == "" || tr.To == "" {
					t.Fatalf("transfer without ends: %+v", tr)
				}
			}
		}
	})
}
