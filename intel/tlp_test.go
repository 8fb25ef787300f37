package intel_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/intel"
)

func TestTLPOrder(t *testing.T) {
	order := []intel.TLP{intel.TLPClear, intel.TLPGreen, intel.TLPAmber, intel.TLPAmberStrict, intel.TLPRed}
	for i := 1; i < len(order); i++ {
		if !(order[i-1] < order[i]) {
			t.Errorf("%v !< %v", order[i-1], order[i])
		}
	}
	for _, l := range order {
		if !l.Valid() {
			t.Errorf("%v invalid", l)
		}
		back, err := intel.ParseTLP(l.String())
		if err != nil || back != l {
			t.Errorf("ParseTLP(%q) = %v, %v", l.String(), back, err)
		}
		if got, ok := intel.TLPFromMarkingID(l.MarkingID()); !ok || got != l {
			t.Errorf("TLPFromMarkingID(%s) = %v", l.MarkingID(), got)
		}
		m := l.Marking()
		if err := intel.Validate(m); err != nil {
			t.Errorf("official %v marking invalid: %v", l, err)
		}
		if got, ok := intel.TLPFromMarking(m); !ok || got != l {
			t.Errorf("TLPFromMarking(%v marking) = %v", l, got)
		}
	}
	if intel.TLP(0).Valid() || intel.TLP(6).Valid() || intel.TLP(0).Marking() != nil {
		t.Error("out-of-range levels accepted")
	}
	if _, ok := intel.TLPAmberStrict.LegacyMarkingID(); ok {
		t.Error("AMBER+STRICT has no TLP 1.0 marking; it must not degrade to AMBER")
	}
}

func TestTLPText(t *testing.T) {
	var cfg struct {
		Default intel.TLP `json:"default"`
	}
	if err := json.Unmarshal([]byte(`{"default":"amber+strict"}`), &cfg); err != nil || cfg.Default != intel.TLPAmberStrict {
		t.Fatalf("%v %v", cfg.Default, err)
	}
	if b, _ := json.Marshal(cfg); string(b) != `{"default":"TLP:AMBER+STRICT"}` {
		t.Errorf("got %s", b)
	}
	if err := json.Unmarshal([]byte(`{"default":"purple"}`), &cfg); err == nil {
		t.Error("purple accepted")
	}
}

func TestTLPFromMISPTag(t *testing.T) {
	for tag, want := range map[string]intel.TLP{
		"tlp:white":        intel.TLPClear,
		"tlp:clear":        intel.TLPClear,
		"tlp:green":        intel.TLPGreen,
		"tlp:amber":        intel.TLPAmber,
		"tlp:amber+strict": intel.TLPAmberStrict,
		"TLP:RED":          intel.TLPRed,
		" tlp:red ":        intel.TLPRed,
	} {
		if got, ok := intel.TLPFromMISPTag(tag); !ok || got != want {
			t.Errorf("%q = %v, %v; want %v", tag, got, ok, want)
		}
	}
	for _, tag := range []string{"tlp:ex:chr", "tlp:unclear", "amber", "pap:red", "misp:tlp=amber", ""} {
		if got, ok := intel.TLPFromMISPTag(tag); ok {
			t.Errorf("%q mapped to %v", tag, got)
		}
	}
}

// TestTLPOpenCTI reads the markings of the OpenCTI encoding: statement
// markings whose level is in x_opencti_definition.
func TestTLPOpenCTI(t *testing.T) {
	for def, want := range map[string]intel.TLP{
		"TLP:CLEAR": intel.TLPClear, "TLP:GREEN": intel.TLPGreen, "TLP:AMBER": intel.TLPAmber,
		"TLP:AMBER+STRICT": intel.TLPAmberStrict, "TLP:RED": intel.TLPRed,
	} {
		raw := `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
			"created":"2022-10-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"custom"},
			"x_opencti_definition_type":"TLP","x_opencti_definition":"` + def + `"}`
		o, err := intel.DecodeObject([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		m := o.(*intel.MarkingDefinition)
		if err := intel.Validate(m); err != nil {
			t.Error(err)
		}
		if got, ok := intel.TLPFromMarking(m); !ok || got != want {
			t.Errorf("%s = %v, %v", def, got, ok)
		}
	}
	// A PAP marking of the same shape is no TLP level.
	pap := &intel.MarkingDefinition{Custom: map[string]json.RawMessage{
		"x_opencti_definition_type": json.RawMessage(`"PAP"`), "x_opencti_definition": json.RawMessage(`"PAP:RED"`),
	}}
	if got, ok := intel.TLPFromMarking(pap); ok {
		t.Errorf("PAP read as %v", got)
	}
}

func TestTLPFromMarkingEncodings(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want intel.TLP
	}{
		// TLP 1.0 as the spec defines it.
		{`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}`, intel.TLPClear},
		{`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:AMBER","definition":{"tlp":"amber"}}`, intel.TLPAmber},
		// Only a name to go on.
		{`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0b3e55e9-40e4-482a-9beb-14b46c9bf8b8","created":"2022-10-01T00:00:00.000Z","name":"TLP:GREEN","definition_type":"statement","definition":{"statement":"share with peers"}}`, intel.TLPGreen},
	} {
		o, err := intel.DecodeObject([]byte(tc.raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := intel.Validate(o); err != nil {
			t.Error(err)
		}
		if got, ok := intel.TLPFromMarking(o.(*intel.MarkingDefinition)); !ok || got != tc.want {
			t.Errorf("%s = %v, %v", tc.raw, got, ok)
		}
	}
	copyright := &intel.MarkingDefinition{DefinitionType: "statement", Definition: json.RawMessage(`{"statement":"Copyright ACME"}`)}
	if got, ok := intel.TLPFromMarking(copyright); ok {
		t.Errorf("statement read as %v", got)
	}
}

func TestObjectTLP(t *testing.T) {
	good, rejected, err := intel.ParseBundle(readFile(t, filepath.Join("testdata", "wallet-bundle.json")), 1<<20)
	if err != nil || len(rejected) > 0 {
		t.Fatal(err, rejected)
	}
	markings := intel.MarkingIndex(good)
	byID := map[string]intel.Object{}
	for _, o := range good {
		byID[o.ObjectID()] = o
	}
	for id, want := range map[string]struct {
		level  intel.TLP
		marked bool
	}{
		"threat-actor--eaa9b5eb-396e-44be-a022-b3c7a93aa3d0":          {intel.TLPAmberStrict, true}, // TLP 2.0 fixed id
		"intrusion-set--4e374de4-738e-41dd-9483-f0be53fdf811":         {intel.TLPAmber, true},       // fixed id, definition not in bundle
		"indicator--7e7b58dc-3538-4e5f-837e-41c799a0e3e0":             {intel.TLPAmberStrict, true}, // OpenCTI statement
		"report--0b3e55e9-40e4-482a-9beb-14b46c9bf8b8":                {intel.TLPAmber, true},       // TLP 1.0 fixed id
		"cryptocurrency-wallet--97217aa6-bb46-50a7-9295-dda5b965e236": {intel.TLPRed, false},        // unmarked fails closed
	} {
		level, marked := intel.ObjectTLP(byID[id], markings)
		if level != want.level || marked != want.marked {
			t.Errorf("%s: %v, %v; want %v, %v", id, level, marked, want.level, want.marked)
		}
	}

	// The strictest marking wins, granular markings included.
	id := intel.NewIdentity("x", "")
	id.ObjectMarkingRefs = []string{intel.MarkingTLP2Clear, intel.MarkingTLP1Green}
	id.GranularMarkings = []intel.GranularMarking{{MarkingRef: intel.MarkingTLP2Red, Selectors: []string{"name"}}}
	if level, marked := intel.ObjectTLP(id, nil); level != intel.TLPRed || !marked {
		t.Errorf("granular: %v %v", level, marked)
	}
	id.GranularMarkings = nil
	if level, _ := intel.ObjectTLP(id, nil); level != intel.TLPGreen {
		t.Errorf("strictest of CLEAR and GREEN: %v", level)
	}
	// An unknown, non-TLP marking leaves the object unmarked.
	id.ObjectMarkingRefs = []string{"marking-definition--85c5ab0b-d1d5-4d92-85ac-4c29689472be"}
	if level, marked := intel.ObjectTLP(id, nil); marked || level != intel.TLPRed {
		t.Errorf("unknown ref: %v %v", level, marked)
	}
}
