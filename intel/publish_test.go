package intel

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain/chaintest"
)

// bybit reads the incident's addresses from the shared data set, and
// the file's rows.
func bybit(t *testing.T) ([]Listed, [][]string) {
	t.Helper()
	path := chaintest.SharedData(t, "incidents", "bybit-2025-addresses.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	listed, err := ReadListed(bytes.NewReader(data), path, "")
	if err != nil {
		t.Fatal(err)
	}
	return listed, rows
}

func TestPublishBybit(t *testing.T) {
	addrs, rows := bybit(t)
	agency := NewIdentity("US agency", "organization")
	objs, err := Publish(Publication{Creator: agency, Name: "Bybit theft, February 2025", TLP: TLPAmber, Actor: "Lazarus Group",
		ActorAliases: []string{"TraderTraitor"}, Incident: "Bybit theft 2025-02-21", Victim: "Bybit", Addresses: addrs, Now: time.Date(2025, 2, 24, 12, 0, 0, 0, time.UTC)})
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
	// The victim's wallets (its cold wallet and the Safe's signers) are
	// no indicators: notes, with Bybit the intrusion set's target; every
	// other address of the file is the attacker's.
	var victims, attackers []string
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[3], "victim") {
			victims = append(victims, r[2])
		} else {
			attackers = append(attackers, r[2])
		}
	}
	if len(victims) != 4 || len(wallets) != len(attackers) || len(attackers)+len(victims) != len(addrs) {
		t.Errorf("%d wallet indicators for %d attackers' addresses, %d victims'", len(wallets), len(attackers), len(victims))
	}
	for _, v := range victims {
		if slices.Contains(wallets, v) {
			t.Errorf("the victim's wallet %s is an indicator", v)
		}
	}
	for _, f := range WalletFlags(good, time.Now()) {
		if slices.Contains(victims, f.Address) {
			t.Errorf("the victim's wallet %s is flagged", f.Address)
		}
	}
	var notes int
	var bybitID string
	for _, o := range good {
		switch o := o.(type) {
		case *Note:
			notes++
			if !slices.Contains(o.Labels, "role:victim") || !strings.Contains(o.Content, "Bybit's") || !strings.Contains(o.Content, "not an indicator") || len(o.ObjectRefs) != 3 {
				t.Errorf("note %+v", o)
			}
		case *Identity:
			if o.Name == "Bybit" {
				bybitID = o.ID
			}
		case *Indicator:
			if !slices.Contains(o.Labels, "role:thief") || !slices.Contains(o.IndicatorTypes, "malicious-activity") {
				t.Errorf("indicator %s: labels %q, types %q", o.Pattern, o.Labels, o.IndicatorTypes)
			}
		}
	}
	targets := false
	for _, o := range good {
		if r, ok := o.(*Relationship); ok && r.RelationshipType == "targets" && r.TargetRef == bybitID && strings.HasPrefix(r.SourceRef, "intrusion-set--") {
			targets = true
		}
	}
	if notes != len(victims) || bybitID == "" || !targets {
		t.Errorf("%d notes for %d victims' wallets; victim identity %q, targeted %v", notes, len(victims), bybitID, targets)
	}
	if _, err := Publish(Publication{Creator: agency, TLP: TLPRed, Addresses: []Listed{{Address: "0x' OR 1=1", Role: RoleThief}}}); err == nil {
		t.Error("a quote in an address was written into a pattern")
	}
	if _, err := Publish(Publication{Creator: agency, TLP: TLPRed, Addresses: []Listed{{Address: "0xd2", Role: "split wallet"}}}); err == nil || !strings.Contains(err.Error(), "0xd2") {
		t.Errorf("an unknown role was published: %v", err)
	}
}

// TestPublishService: a service's wallet is a note labelled as such, no
// indicator and no flag.
func TestPublishService(t *testing.T) {
	now := time.Date(2025, 2, 24, 12, 0, 0, 0, time.UTC)
	objs, err := Publish(Publication{Creator: IdentityFor("US agency"), Name: "Bybit theft", TLP: TLPGreen, Incident: "Bybit theft",
		Addresses: []Listed{{Chain: "eth", Address: "0x28c6c06298d514db089934071355e5743bf21d60", Role: RoleService, Note: "Binance hot wallet"},
			{Chain: "eth", Address: "0x47666fab8bd0ac7003bce3f5c3585383f09486e2", Role: RoleLaundering}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	flags := WalletFlags(objs, now)
	if len(flags) != 1 || flags[0].Address != "0x47666fab8bd0ac7003bce3f5c3585383f09486e2" {
		t.Errorf("flags %+v", flags)
	}
	for _, o := range objs {
		raw, _ := json.Marshal(o)
		if err := checkSchema(t, raw); err != nil {
			t.Errorf("%s: %v", o.ObjectID(), err)
		}
		if n, ok := o.(*Note); ok && (!slices.Equal(n.Labels, []string{"role:service", "chain:eth"}) || !strings.Contains(n.Content, "Binance hot wallet") || !strings.Contains(n.Content, "not malicious")) {
			t.Errorf("note %+v", n)
		}
		if ind, ok := o.(*Indicator); ok && (ind.Description != "A wallet that launders the proceeds" || !slices.Contains(ind.Labels, "role:laundering")) {
			t.Errorf("indicator %+v", ind)
		}
	}
}

func TestReadListed(t *testing.T) {
	good := "address,chain,role,note\n" +
		"0x1,eth,victim cold wallet (Safe multisig),\n" +
		"0x2,eth,attacker split wallet: funds moved out,10000 ETH\n" +
		"0x3,eth,Laundering,\n" +
		"0x4,eth,service: Binance hot wallet,\n" +
		",eth,thief,\n"
	got, err := ReadListed(strings.NewReader(good), "x.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Listed{{"eth", "0x1", RoleVictim, "cold wallet (Safe multisig)"}, {"eth", "0x2", RoleThief, "split wallet: funds moved out; 10000 ETH"},
		{"eth", "0x3", RoleLaundering, ""}, {"eth", "0x4", RoleService, "Binance hot wallet"}}
	if !slices.Equal(got, want) {
		t.Errorf("read %+v\nwant %+v", got, want)
	}
	for in, msg := range map[string]string{
		"address,role\n0x1,thief\n0x2,split wallet\n": "x.csv:3: address 0x2",
		"address,role\n0x1,\n":                        "x.csv:2: address 0x1",
		"address,chain\n0x1,eth\n":                    "x.csv:1: no role column",
		"addr,role\n0x1,thief\n":                      "x.csv:1: no address column",
		"address,role\n\"0x1,thief\n":                 "x.csv",
		"address,role\n\"0x1 0x2\",thief\n":           "x.csv:2: address",
	} {
		if _, err := ReadListed(strings.NewReader(in), "x.csv", ""); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
	// A default role for a file without a role column, or for empty cells.
	got, err = ReadListed(strings.NewReader("address\n0x1\n"), "x.csv", RoleLaundering)
	if err != nil || len(got) != 1 || got[0].Role != RoleLaundering {
		t.Errorf("default role: %+v %v", got, err)
	}
	if _, err := ReadListed(strings.NewReader("address\n0x1\n"), "x.csv", "bystander"); err == nil {
		t.Error("an unknown default role was taken")
	}
}

// FuzzReadListed: whatever reads has a known role and an address, and
// reads back the same once written as CSV.
func FuzzReadListed(f *testing.F) {
	f.Add("address,chain,role,note\n0x1,eth,victim cold wallet,\n0x2,eth,attacker split wallet: moved,x\n")
	f.Add("address,role\n0x1,service\n")
	f.Add("address,role,description\nbc1q,thief,\"a, b\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadListed(strings.NewReader(in), "f", "")
		if err != nil {
			return
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"address", "chain", "role", "note"})
		for _, l := range got {
			if l.Address == "" || !l.Role.valid() {
				t.Fatalf("%q: read %+v", in, l)
			}
			w.Write([]string{l.Address, l.Chain, string(l.Role), l.Note})
		}
		w.Flush()
		again, err := ReadListed(&b, "f", "")
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q: read %+v, then %+v (%v)", in, got, again, err)
		}
	})
}

func TestWalletFlags(t *testing.T) {
	agency := NewIdentity("US agency", "organization")
	now := time.Date(2025, 2, 24, 12, 0, 0, 0, time.UTC)
	objs, err := Publish(Publication{Creator: agency, Name: "Bybit theft", TLP: TLPAmber, Actor: "Lazarus Group",
		Addresses: []Listed{{Chain: "ETH", Address: "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2", Role: RoleThief}, {Chain: "ETH", Address: "0x36ed3c0213565530c35115d93a80f9c04d94e4cb", Role: RoleLaundering}}, Now: now})
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
	// The same id with its UUID in upper case is the same indicator: its
	// revocation withdraws the flag, and a report naming it so holds it.
	upper := revoked
	typ, uuid, _ := strings.Cut(upper.ID, "--")
	upper.ID = typ + "--" + strings.ToUpper(uuid)
	if flags = WalletFlags(append(slices.Clone(objs), &upper), now); len(flags) != 1 {
		t.Errorf("after a revocation under the upper-case id: %+v", flags)
	}
	for _, o := range objs {
		if r, ok := o.(*Report); ok {
			for i, ref := range r.ObjectRefs {
				if strings.HasPrefix(ref, TypeIndicator+"--") {
					r.ObjectRefs[i] = typ + "--" + strings.ToUpper(strings.TrimPrefix(ref, typ+"--"))
				}
			}
		}
	}
	if flags = WalletFlags(objs, now); len(flags) != 2 || flags[0].Report != "Bybit theft" || flags[1].Report != "Bybit theft" {
		t.Errorf("a report naming its indicators in upper case: %+v", flags)
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
			Addresses: []Listed{{Chain: "eth", Address: "0xd2", Role: RoleLaundering, Note: role}}, Key: key, Created: first, Now: now})
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
	if _, err := Publish(Publication{Creator: node, Name: "x", TLP: TLPAmber, Addresses: []Listed{{Address: "0xd2", Role: RoleThief}}, Key: "a\x00b"}); err == nil {
		t.Error("a key with a NUL was taken")
	}
}
