package sanctions_test

import (
	"bytes"
	"compress/bzip2"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/sanctions"
)

const miniXML = `<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
<DateOfIssue CalendarTypeID="1"><Year>2025</Year><Month>11</Month><Day>19</Day></DateOfIssue>
<ReferenceValueSets><FeatureTypeValues><FeatureType ID="345" FeatureTypeGroupID="1">Digital Currency Address - ETH</FeatureType></FeatureTypeValues></ReferenceValueSets>
<DistinctParties><DistinctParty FixedRef="27307"><Profile ID="27307" PartySubTypeID="3"><Identity ID="1" FixedRef="27307" Primary="true">
<Alias FixedRef="27307" AliasTypeID="1403" Primary="true"><DocumentedName><DocumentedNamePart><NamePartValue>Lazarus Group</NamePartValue></DocumentedNamePart></DocumentedName></Alias></Identity>
<Feature ID="50215" FeatureTypeID="345"><FeatureVersion ID="1"><VersionDetail DetailTypeID="1432">0x098B716B8Aaf21512996dC57EB0615e2383E2f96</VersionDetail></FeatureVersion></Feature>
</Profile></DistinctParty></DistinctParties>
<SanctionsEntries><SanctionsEntry ID="27307" ProfileID="27307" ListID="1550"><SanctionsMeasure ID="1" SanctionsTypeID="1"><Comment>DPRK3</Comment></SanctionsMeasure></SanctionsEntry></SanctionsEntries>
</Sanctions>
`

func parseBytes(t *testing.T, b []byte) (*sanctions.List, error) {
	p := filepath.Join(t.TempDir(), "list.xml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return sanctions.ParseFile(context.Background(), p, sanctions.ParseOptions{})
}

func TestMiniXML(t *testing.T) {
	l, err := parseBytes(t, []byte(miniXML))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 1 || l.Entries[0].Party.Name != "LAZARUS GROUP" || l.Entries[0].Party.Programs[0] != "DPRK3" {
		t.Fatalf("%+v", l.Entries)
	}
}

// TestTruncatedXML cuts the real list at several points: each cut is an
// error that says where, never a shorter list.
func TestTruncatedXML(t *testing.T) {
	f, err := os.Open(filepath.Join(dataDir(t), "ofac", "sdn_advanced-2025-11-19.xml.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(bzip2.NewReader(f), 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100, 5000, 1 << 20, 4 << 20} {
		_, err := parseBytes(t, head[:n])
		if err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	if _, err := parseBytes(t, []byte(strings.Replace(miniXML, "</Sanctions>", "", 1))); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("missing end: %v", err)
	}
	if _, err := parseBytes(t, []byte(strings.Replace(miniXML, "<Year>2025</Year>", "<Year>twenty</Year>", 1))); err == nil || !strings.Contains(err.Error(), "DateOfIssue") {
		t.Errorf("bad date: %v", err)
	}
	if _, err := parseBytes(t, []byte(strings.Replace(miniXML, "</Feature>", "</Featur>", 1))); err == nil {
		t.Error("mismatched tag accepted")
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte(miniXML))
	f.Add([]byte("1,\"A\",\"individual\",\"CYBER2] [DPRK3\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - XBT 1abc; alt. Digital Currency Address - ETH 0x12;\"\n"))
	f.Add([]byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := sanctions.Parse(context.Background(), bytes.NewReader(b), "list-2025-01-01.csv", sanctions.ParseOptions{})
		if err != nil {
			return
		}
		for _, e := range l.Entries {
			if e.Address == "" || e.Asset == "" || bytes.ContainsAny([]byte(e.Address), " ;") {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}
