package intel

import (
	"strings"
	"testing"
	"time"
)

// A MISP event as MISP exports it, trimmed: coin-address objects (address
// and symbol), a plain btc attribute, and a TLP 2.0 tag.
const mispEventJSON = `{"Event": {"info": "Bybit theft laundering wallets", "uuid": "5f6d8c1e-0000-4000-8000-000000000001", "date": "2025-02-24",
 "Orgc": {"name": "CERT-X"},
 "Tag": [{"name": "tlp:amber+strict"}, {"name": "misp-galaxy:threat-actor=\"Lazarus Group\""}],
 "Attribute": [{"type": "btc", "category": "Financial fraud", "value": "bc1qlzuwh9e9ts0tjgmyrw2mr6el3hqj9pwqxfs8y2", "comment": "cash-out"}],
 "Object": [
  {"name": "coin-address", "comment": "split wallet", "Attribute": [
    {"object_relation": "address", "type": "btc", "value": "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"},
    {"object_relation": "symbol", "type": "text", "value": "ETH"}]},
  {"name": "file", "Attribute": [{"object_relation": "filename", "type": "filename", "value": "x.exe"}]}
 ]}}`

func TestImportMISP(t *testing.T) {
	evs, err := ImportMISP([]byte(mispEventJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.TLP != TLPAmberStrict || !ev.Marked || ev.Creator != "CERT-X" || len(ev.Addresses) != 2 {
		t.Fatalf("%+v", ev)
	}
	if a := ev.Addresses[1]; a.Chain != "eth" || a.Address != "0x36ed3c0213565530c35115d93a80f9c04d94e4cb" || a.Role != RoleThief || a.Note != "split wallet" {
		t.Errorf("coin-address: %+v", a)
	}
	objs, err := Publish(Publication{Creator: NewIdentity(ev.Creator, "organization"), Name: ev.Name, TLP: ev.TLP, Addresses: ev.Addresses, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	flags := WalletFlags(objs, time.Now())
	if len(flags) != 2 || flags[0].TLP != TLPAmberStrict {
		t.Errorf("flags %+v", flags)
	}
	if _, err := ImportMISP([]byte(`{"type":"bundle"}`)); err == nil {
		t.Error("a STIX bundle read as MISP")
	}
	// A wallet not marked for IDS is context: its comment must say its
	// role, or the import fails rather than publish it as malicious.
	ctx := func(toIDS, comment string) string {
		return `{"Event": {"info": "i", "uuid": "u1", "Attribute": [{"type": "eth", "value": "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4", "to_ids": ` + toIDS + `, "comment": "` + comment + `"}]}}`
	}
	if _, err := ImportMISP([]byte(ctx("false", "cold wallet"))); err == nil || !strings.Contains(err.Error(), "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4") {
		t.Errorf("context without a role: %v", err)
	}
	for _, ids := range []string{"false", `"0"`, "true"} {
		evs, err := ImportMISP([]byte(ctx(ids, "victim: Bybit cold wallet")))
		if err != nil || evs[0].Addresses[0].Role != RoleVictim || evs[0].Addresses[0].Note != "Bybit cold wallet" {
			t.Errorf("to_ids %s, victim: %+v %v", ids, evs, err)
		}
	}
	if _, err := ImportMISP([]byte(ctx(`"maybe"`, "x"))); err == nil {
		t.Error("a to_ids of maybe was read")
	}
}

// OpenCTI writes TLP:AMBER+STRICT as a statement marking of its own id
// with x_opencti_definition: the flag must come out AMBER+STRICT, not
// unmarked.
func TestOpenCTIMarking(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--6b8ab1b4-8d0b-4a2a-9d0e-1b1b1b1b1b1b","objects":[
{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--826578e1-40ad-459f-bc73-ede076f81f37","created":"2022-10-01T00:00:00.000Z",
 "definition_type":"statement","definition":{"statement":"custom"},"name":"TLP:AMBER+STRICT","x_opencti_definition_type":"TLP","x_opencti_definition":"TLP:AMBER+STRICT"},
{"type":"indicator","spec_version":"2.1","id":"indicator--1f1f1f1f-2a2a-4b4b-8c8c-3d3d3d3d3d3d","created":"2025-02-24T10:00:00.000Z","modified":"2025-02-24T10:00:00.000Z",
 "name":"Lazarus wallet","pattern":"[cryptocurrency-wallet:value = '0x47666fab8bd0ac7003bce3f5c3585383f09486e2']","pattern_type":"stix","valid_from":"2025-02-24T10:00:00.000Z",
 "object_marking_refs":["marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"]}]}`
	good, rejected, err := ParseBundle([]byte(bundle), 1<<20)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("%v %v", rejected, err)
	}
	flags := WalletFlags(good, time.Now())
	if len(flags) != 1 || flags[0].TLP != TLPAmberStrict || !flags[0].Marked {
		t.Errorf("flags %+v", flags)
	}
}
