package intel_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/intel"
)

// TestHostileBundle parses a bundle of objects that break the rules one at
// a time. Each is rejected with its index and a reason naming the rule;
// the valid ones, custom objects that follow the spec included, are kept.
func TestHostileBundle(t *testing.T) {
	want := []struct {
		index  int
		reason string // "kept" for objects that must survive
	}{
		{0, "kept"},
		{1, "does not start with"},
		{2, "not an RFC 4122 variant"},
		{3, "pattern_type: required"},
		{4, "unterminated string"},
		{5, "bad escape"},
		{6, "target_ref: required"},
		{7, "cannot be the end of a relationship"},
		{8, "sighting_of_ref: required"},
		{9, "is before created"},
		{10, "precise to the millisecond"},
		{11, "spec_version"},
		{12, "deterministic"},
		{13, "extension is required"},
		{14, "fixed id of TLP:RED"},
		{15, "must use the fixed id"},
		{16, "is not a STIX 2.1 type"},
		{17, "kept"}, // x- custom object with the common properties
		{18, "kept"}, // x- custom observable
		{19, "kept"}, // type declared by a new-sdo extension
		{20, "names are 3-250 characters"},
		{21, "names are case-sensitive"},
		{22, "not a JSON object"},
		{23, "repeats the id"},
		{24, "confidence: 101"},
		{25, "timestamp"},
		{26, "is_family: required"},
		{27, "kept"}, // SCO without spec_version
		{28, "no type property"},
		{29, "object_refs: empty list"},
		{30, "is not after valid_from"},
		{31, "cannot mark itself"},
		{32, "neither an extension-definition id"},
		{33, "reserved"},
		{34, "kept"}, // sigma pattern: not parsed as STIX
		{35, "cannot contain a bundle"},
	}
	good, rejected, err := intel.ParseBundle(readFile(t, filepath.Join("testdata", "hostile-bundle.json")), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[int]intel.Rejection{}
	for _, r := range rejected {
		reasons[r.Index] = r
	}
	kept := 0
	for _, w := range want {
		r, isRejected := reasons[w.index]
		switch {
		case w.reason == "kept" && isRejected:
			t.Errorf("object %d rejected: %v", w.index, r.Err)
		case w.reason == "kept":
			kept++
		case !isRejected:
			t.Errorf("object %d kept, want rejection for %q", w.index, w.reason)
		case !strings.Contains(r.Err.Error(), w.reason):
			t.Errorf("object %d: reason %q, want %q", w.index, r.Err, w.reason)
		}
	}
	if len(good) != kept || len(good)+len(rejected) != len(want) {
		t.Errorf("kept %d, rejected %d of %d", len(good), len(rejected), len(want))
	}
	// Rejections carry the id where one could be read.
	if r := reasons[12]; !strings.HasPrefix(r.ID, "cryptocurrency-wallet--") || r.Type != "cryptocurrency-wallet" {
		t.Errorf("rejection without id: %+v", r)
	}
	var ve *intel.ValidationError
	if !errors.As(reasons[9].Err, &ve) || ve.ID == "" || len(ve.Problems) == 0 {
		t.Errorf("not a ValidationError: %#v", reasons[9].Err)
	}
	// Kept objects are still valid after a round trip.
	for _, o := range good {
		back, err := intel.DecodeObject(mustJSON(t, o))
		if err != nil {
			t.Fatal(err)
		}
		if err := intel.Validate(back); err != nil {
			t.Error(err)
		}
	}
}

func TestParseBundleErrors(t *testing.T) {
	const id = `"id":"bundle--b89c6b61-00be-4c89-97f5-f766e31b0fcb"`
	for _, tc := range []struct{ in, want string }{
		{`{"type":"bundle",` + id + `,"objects":[]}` + strings.Repeat(" ", 100), "larger than the limit"},
		{`{"type":"bundle",` + id + `,"objects":[`, "unexpected end"},
		{`[]`, "cannot unmarshal"},
		{`null`, "not a JSON object"},
		{`"bundle"`, "cannot unmarshal"},
		{`{"type":"identity",` + id + `}`, "not a bundle"},
		{`{` + id + `}`, "not a bundle"},
		{`{"type":"bundle"}`, "bad bundle id"},
		{`{"type":"bundle","id":"report--b89c6b61-00be-4c89-97f5-f766e31b0fcb"}`, "bad bundle id"},
		{`{"type":"bundle",` + id + `,"objects":{}}`, "objects is not a list"},
		{`{"Type":"bundle",` + id + `}`, "case-sensitive"},
		{`{"type":"bundle",` + id + `}{}`, "invalid character"},
	} {
		_, _, err := intel.ParseBundle([]byte(tc.in), 100)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	big := []byte(`{"type":"bundle",` + id + `}`)
	if _, _, err := intel.ParseBundle(big, len(big)-1); !errors.Is(err, intel.ErrBundleTooLarge) {
		t.Errorf("limit: %v", err)
	}
	if _, _, err := intel.ParseBundle(big, 0); err == nil {
		t.Error("zero limit accepted")
	}
	good, rejected, err := intel.ParseBundle(big, len(big))
	if err != nil || good != nil || rejected != nil {
		t.Errorf("empty bundle: %v %v %v", good, rejected, err)
	}
}

func TestValidateRules(t *testing.T) {
	ts := `"created":"2025-02-21T14:13:35.000Z","modified":"2025-02-21T14:13:35.000Z","spec_version":"2.1"`
	for _, tc := range []struct{ raw, want string }{
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `}`, "name: required"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a9",` + ts + `,"name":"n"}`, "8-4-4-4-12"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-7357-b866-0b8d43d46a95",` + ts + `,"name":"n"}`, "version 7"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","created_by_ref":"report--8e34eb45-ac04-4357-b866-0b8d43d46a95"}`, "must reference identity"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","external_references":[{"source_name":"x"}]}`, "needs a description"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","granular_markings":[{"selectors":["name"]}]}`, "needs marking_ref or lang"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","labels":[]}`, "labels: empty list"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","extensions":{}}`, "empty dictionary"},
		{`{"type":"identity","id":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","extensions":{"extension-definition--be78509e-6958-51b1-8b26-d17ee0eba2d7":{"extension_type":"new-thing"}}}`, "extension-type-enum"},
		{`{"type":"threat-actor","id":"threat-actor--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","first_seen":"2025-01-02T00:00:00Z","last_seen":"2025-01-01T00:00:00Z"}`, "last_seen"},
		{`{"type":"report","id":"report--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","object_refs":["identity--8e34eb45-ac04-4357-b866-0b8d43d46a95"]}`, "published: required"},
		{`{"type":"relationship","id":"relationship--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"relationship_type":"Uses","source_ref":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95","target_ref":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95"}`, "relationship_type"},
		{`{"type":"relationship","id":"relationship--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"relationship_type":"uses","source_ref":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95","target_ref":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95","start_time":"2025-01-01T00:00:00Z","stop_time":"2025-01-01T00:00:00Z"}`, "stop_time"},
		{`{"type":"sighting","id":"sighting--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"sighting_of_ref":"relationship--8e34eb45-ac04-4357-b866-0b8d43d46a95"}`, "not a domain object"},
		{`{"type":"sighting","id":"sighting--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"sighting_of_ref":"indicator--8e34eb45-ac04-4357-b866-0b8d43d46a95","count":1000000000}`, "count"},
		{`{"type":"sighting","id":"sighting--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"sighting_of_ref":"indicator--8e34eb45-ac04-4357-b866-0b8d43d46a95","where_sighted_refs":["report--8e34eb45-ac04-4357-b866-0b8d43d46a95"]}`, "identity or location"},
		{`{"type":"note","id":"note--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"content":"c"}`, "object_refs: required"},
		{`{"type":"extension-definition","id":"extension-definition--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"name":"n","schema":"s","version":"1","extension_types":["new-sco"]}`, "created_by_ref: required"},
		{`{"type":"extension-definition","id":"extension-definition--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"created_by_ref":"identity--8e34eb45-ac04-4357-b866-0b8d43d46a95","name":"n","schema":"s","version":"1","extension_types":["new-sco"],"extension_properties":["x_a"]}`, "toplevel-property-extension"},
		{`{"type":"marking-definition","id":"marking-definition--8e34eb45-ac04-4357-b866-0b8d43d46a95","spec_version":"2.1","created":"2025-02-21T14:13:35.000Z"}`, "required without extensions"},
		{`{"type":"marking-definition","id":"marking-definition--8e34eb45-ac04-4357-b866-0b8d43d46a95","spec_version":"2.1","created":"2025-02-21T14:13:35.000Z","definition_type":"statement","definition":{"text":"x"}}`, "string statement"},
		{`{"type":"marking-definition","id":"marking-definition--8e34eb45-ac04-4357-b866-0b8d43d46a95","spec_version":"2.1","created":"2025-02-21T14:13:35.000Z","name":"TLP:RED","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"red"}}}`, "fixed id"},
		{`{"type":"marking-definition","id":"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed","spec_version":"2.1","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"white"}}`, "fixed id"},
		{`{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--63c69546-406d-5b56-8079-ecd9c86d38df","extensions":{"extension-definition--be78509e-6958-51b1-8b26-d17ee0eba2d7":{"extension_type":"new-sco"}}}`, "value: required"},
		{`{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--63c69546-406d-5b56-8079-ecd9c86d38df","value":"bc1qexamplewallet0000000000000000000000000","extensions":{"extension-definition--be78509e-6958-51b1-8b26-d17ee0eba2d7":{"extension_type":"property-extension"}}}`, "want \"new-sco\""},
		{`{"type":"cryptocurrency-wallet","id":"cryptocurrency-wallet--63c69546-406d-5b56-8079-ecd9c86d38df","value":"bc1qexamplewallet0000000000000000000000000","holder_ref":"x","extensions":{"extension-definition--be78509e-6958-51b1-8b26-d17ee0eba2d7":{"extension_type":"new-sco"}}}`, "holder_ref"},
		{`{"type":"x","id":"x--8e34eb45-ac04-4357-b866-0b8d43d46a95"}`, "names are 3-250"},
		{`{"type":"x-acme--bad","id":"x-acme--bad--8e34eb45-ac04-4357-b866-0b8d43d46a95"}`, "names are 3-250"},
		{`{"type":"x-acme-obj","id":"x-acme-obj--8e34eb45-ac04-4357-b866-0b8d43d46a95","created":"2025-02-21T14:13:35.000Z"}`, "modified: required"},
		{`{"type":"observed-data","id":"observed-data--8e34eb45-ac04-4357-b866-0b8d43d46a95",` + ts + `,"first_observed":"2025-02-21T14:13:35.000Z"}`, "number_observed: required"},
		{`{"type":"domain-name","id":"domain-name--8e34eb45-ac04-4357-b866-0b8d43d46a95","spec_version":"2.0","value":"a.b"}`, "spec_version"},
	} {
		o, err := intel.DecodeObject([]byte(tc.raw))
		if err != nil {
			t.Errorf("%s: %v", tc.raw, err)
			continue
		}
		if err := intel.Validate(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.raw, err, tc.want)
		}
	}
	if err := intel.Validate(nil); err == nil {
		t.Error("nil accepted")
	}
}

// TestValidateCollectsAll: one error lists every problem, not the first.
func TestValidateCollectsAll(t *testing.T) {
	o, err := intel.DecodeObject([]byte(`{"type":"indicator","id":"indicator--x","pattern":"[","pattern_type":"stix","confidence":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	var ve *intel.ValidationError
	if !errors.As(intel.Validate(o), &ve) {
		t.Fatal("no ValidationError")
	}
	for _, want := range []string{"spec_version", "id", "created", "modified", "valid_from", "confidence", "pattern:"} {
		found := false
		for _, p := range ve.Problems {
			found = found || strings.HasPrefix(p, want)
		}
		if !found {
			t.Errorf("no problem about %s in %q", want, ve.Problems)
		}
	}
	b, _ := json.Marshal(ve.Problems)
	if !strings.Contains(ve.Error(), "indicator--x") {
		t.Errorf("error without id: %s", b)
	}
}
