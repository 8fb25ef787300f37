package pebble_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
)

func openDB(t *testing.T) (*pebble.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := pebble.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return db, dir
}

// TestTransfers stores transfers and verdicts, reads them back after a
// reopen, and keeps the index by counterparty with the transfers still
// waiting for their transaction marked.
func TestTransfers(t *testing.T) {
	ctx := context.Background()
	db, dir := openDB(t)
	now := time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC)
	addr := func(n int) string { return fmt.Sprintf("0x%040x", n) }
	var ts []alert.Transfer
	for i := range 3 {
		ts = append(ts, alert.Transfer{ID: fmt.Sprintf("T-%d", i), Customer: "C", Chain: chain.Ethereum, Tx: fmt.Sprintf("0x%064x", i),
			Counterparty: addr(i % 2), Amount: chain.NewAmount(uint64(1000 + i)), Direction: alert.Deposit, Registered: now,
			Decision: alert.Decision{Action: alert.Accept, Risk: screen.Low},
			Check:    alert.ChainCheck{Status: []alert.CheckStatus{alert.CheckAgrees, alert.CheckUnknownTx, alert.CheckDisagrees}[i]}})
	}
	vs := []alert.Verdict{{Chain: chain.Ethereum, Address: addr(0), Risk: screen.Low, Fingerprint: 7, Evaluated: now}}
	if err := db.PutTransfers(ctx, ts, vs); err != nil {
		t.Fatal(err)
	}
	if err := db.PutTransfers(ctx, []alert.Transfer{{ID: "bad id", Chain: chain.Ethereum, Counterparty: addr(0)}}, nil); err == nil {
		t.Error("stored a transfer with a space in its id")
	}
	db.Close()
	if db, err := pebble.Open(ctx, dir); err != nil {
		t.Fatal(err)
	} else {
		defer db.Close()
		got, ok, err := db.Transfer(ctx, "T-2")
		if err != nil || !ok || got.Amount.String() != "1002" || got.Check.Status != alert.CheckDisagrees {
			t.Errorf("T-2: %+v %v %v", got, ok, err)
		}
		if _, ok, err := db.Transfer(ctx, "T-9"); ok || err != nil {
			t.Errorf("T-9: %v %v", ok, err)
		}
		var refs []string
		if err := db.TransferRefs(ctx, func(c chain.Chain, a, id string, unchecked bool) error {
			refs = append(refs, fmt.Sprintf("%s %s %s %v", c, a, id, unchecked))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{"eth " + addr(0) + " T-0 false", "eth " + addr(0) + " T-2 false", "eth " + addr(1) + " T-1 true"}
		if !slices.Equal(refs, want) {
			t.Errorf("refs %q, want %q", refs, want)
		}
		// The transaction arrives: the mark goes.
		ts[1].Check.Status = alert.CheckAgrees
		if err := db.PutTransfers(ctx, ts[1:2], nil); err != nil {
			t.Fatal(err)
		}
		unchecked := 0
		_ = db.TransferRefs(ctx, func(_ chain.Chain, _, _ string, u bool) error {
			if u {
				unchecked++
			}
			return nil
		})
		if unchecked != 0 {
			t.Errorf("%d still marked", unchecked)
		}
		var got2 []alert.Verdict
		if err := db.Verdicts(ctx, func(v alert.Verdict) error { got2 = append(got2, v); return nil }); err != nil || len(got2) != 1 || got2[0].Fingerprint != 7 {
			t.Errorf("verdicts %+v %v", got2, err)
		}
	}
}

// TestInboxStore replaces an alert in place (its time entry stays one)
// and answers an unknown id with false.
func TestInboxStore(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	defer db.Close()
	at := time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC)
	a := alert.Alert{ID: "al-1", Kind: alert.KindRule, Key: "k", Severity: alert.High, Status: alert.StatusOpen, Explanation: "x", Raised: at}
	if err := db.PutAlerts(ctx, []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	a.Status, a.Assignee = alert.StatusAssigned, "kim"
	if err := db.PutAlerts(ctx, []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListAlerts(ctx, alert.Query{})
	if err != nil || len(got) != 1 || got[0].Assignee != "kim" {
		t.Fatalf("list: %+v %v", got, err)
	}
	if _, ok, err := db.Alert(ctx, "al-2"); ok || err != nil {
		t.Errorf("unknown: %v %v", ok, err)
	}
	if err := db.PutAlerts(ctx, []alert.Alert{{Key: "k"}}); err == nil {
		t.Error("stored an alert without an id")
	}
}
