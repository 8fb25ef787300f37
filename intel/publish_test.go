package intel

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain/chaintest"
)

// bybit reads the incident's addresses from the shared data set.
func bybit(t *testing.T) []Listed {
	t.Helper()
	f, err := os.Open(chaintest.SharedData(t, "incidents", "bybit-2025-addresses.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []Listed
	for _, r := range rows[1:] {
		out = append(out, Listed{Chain: r[1], Address: r[2], Role: r[3]})
	}
	return out
}

func TestPublishBybit(t *testing.T) {
	addrs := bybit(t)
	agency := NewIdentity("US agency", "organization")
	objs, err := Publish(Publication{Creator: agency, Name: "Bybit theft, February 2025", TLP: TLPAmber, Actor: "Lazarus Group",
		ActorAliases: []string{"TraderTraitor"}, Incident: "Bybit theft 2025-02-21", Addresses: addrs, Now: time.Date(2025, 2, 24, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(NewBundle(objs...))
	if err != nil {
		t.Fatal(err)
	}
	good, rejected, err := ParseBundle(data, 10<<20)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("rejected %v, %v", rejected, err)
	}
	var wallets []string
	markings := MarkingIndex(good)
	for _, o := range good {
		raw, _ := json.Marshal(o)
		if err := checkSchema(t, raw); err != nil {
			t.Errorf("%s: %v", o.ObjectID(), err)
		}
		if ind, ok := o.(*Indicator); ok {
			ws, err := WalletAddresses(ind.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			wallets = append(wallets, ws...)
			if tlp, marked := ObjectTLP(o, markings); !marked || tlp != TLPAmber {
				t.Errorf("%s marked %v %v", o.ObjectID(), tlp, marked)
			}
		}
	}
	if len(wallets) != len(addrs) {
		t.Errorf("%d wallet indicators for %d addresses", len(wallets), len(addrs))
	}
	if _, err := Publish(Publication{Creator: agency, TLP: TLPRed, Addresses: []Listed{{Address: "0x' OR 1=1"}}}); err == nil {
		t.Error("a quote in an address was written into a pattern")
	}
}

func TestWalletFlags(t *testing.T) {
	agency := NewIdentity("US agency", "organization")
	now := time.Date(2025, 2, 24, 12, 0, 0, 0, time.UTC)
	objs, err := Publish(Publication{Creator: agency, Name: "Bybit theft", TLP: TLPAmber, Actor: "Lazarus Group",
		Addresses: []Listed{{Chain: "ETH", Address: "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"}, {Chain: "ETH", Address: "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	flags := WalletFlags(objs, now)
	if len(flags) != 2 || flags[0].Report != "Bybit theft" || flags[0].TLP != TLPAmber || !flags[0].Marked || flags[0].Chain != "eth" {
		t.Fatalf("flags %+v", flags)
	}
	// A later version that revokes the first indicator withdraws its flag.
	var revoked Indicator
	for _, o := range objs {
		if ind, ok := o.(*Indicator); ok && strings.Contains(ind.Pattern, flags[0].Address) {
			revoked = *ind
		}
	}
	revoked.Revoked = true
	revoked.Modified = NewTimestamp(now.Add(time.Hour))
	flags = WalletFlags(append(objs, &revoked), now)
	if len(flags) != 1 {
		t.Errorf("after revocation: %+v", flags)
	}
	// An older version arriving later does not bring it back.
	flags = WalletFlags(append(append([]Object{}, &revoked), objs...), now)
	if len(flags) != 1 {
		t.Errorf("after a replayed old version: %+v", flags)
	}
}

// TestPublishKeyed: publishing under a key again yields new versions of
// the same objects, created when first published; without a key, new
// objects.
func TestPublishKeyed(t *testing.T) {
	node := IdentityFor("US agency")
	first := time.Date(2025, 2, 21, 15, 0, 0, 0, time.UTC)
	pub := func(key string, now time.Time, role string) map[string]Object {
		t.Helper()
		objs, err := Publish(Publication{Creator: node, Name: "Watch bybit", TLP: TLPAmber, Incident: "Bybit theft",
			Addresses: []Listed{{Chain: "eth", Address: "0xd2", Role: role}}, Key: key, Created: first, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		byType := map[string]Object{}
		for _, o := range objs {
			byType[o.ObjectType()] = o
		}
		return byType
	}
	a := pub("bybit", first.Add(time.Hour), "150 wei")
	b := pub("bybit", first.Add(2*time.Hour), "400 wei")
	for _, typ := range []string{TypeIndicator, TypeReport, TypeIncident, TypeRelationship, TypeCryptocurrencyWallet, TypeIdentity} {
		if a[typ].ObjectID() != b[typ].ObjectID() {
			t.Errorf("%s: ids %s and %s under one key", typ, a[typ].ObjectID(), b[typ].ObjectID())
		}
	}
	ia, ib := a[TypeIndicator].(*Indicator), b[TypeIndicator].(*Indicator)
	if !ia.Created.Equal(first) || !ib.Created.Equal(first) || !ib.Modified.After(ia.Modified.Time) || ib.Description != "400 wei" {
		t.Errorf("versions: created %v %v, modified %v %v, %q", ia.Created, ib.Created, ia.Modified, ib.Modified, ib.Description)
	}
	if other := pub("bybit-2", first.Add(time.Hour), ""); other[TypeIndicator].ObjectID() == ia.ID {
		t.Error("two keys share an indicator id")
	}
	if c := pub("", first.Add(time.Hour), ""); c[TypeIndicator].ObjectID() == pub("", first.Add(time.Hour), "")[TypeIndicator].ObjectID() {
		t.Error("unkeyed publications share an indicator id")
	}
	if _, err := Publish(Publication{Creator: node, Name: "x", TLP: TLPAmber, Addresses: []Listed{{Address: "0xd2"}}, Key: "a\x00b"}); err == nil {
		t.Error("a key with a NUL was taken")
	}
}
