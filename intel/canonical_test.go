package intel_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/intel"
)

func TestCanonicalID(t *testing.T) {
	const id = "identity--6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	for _, c := range []struct {
		in, want string
	}{
		{id, id},
		{"identity--6BA7B810-9DAD-41D1-80B4-00C04FD430C8", id},
		{"identity--6ba7B810-9dad-41d1-80b4-00c04fd430C8", id},
		{"x-acme-thing--6ba7b810-9dad-41d1-80b4-00c04fd430c8", "x-acme-thing--6ba7b810-9dad-41d1-80b4-00c04fd430c8"},
	} {
		got, err := intel.CanonicalID(c.in)
		if err != nil || got != c.want {
			t.Errorf("CanonicalID(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if !intel.SameID(c.in, id) && c.want == id {
			t.Errorf("SameID(%q, %q) is false", c.in, id)
		}
	}
	for _, bad := range []string{
		"", id + " ", " " + id, id + "\n", "IDENTITY--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
		"Identity--6ba7b810-9dad-41d1-80b4-00c04fd430c8", "identity-6ba7b810-9dad-41d1-80b4-00c04fd430c8",
		"identity--6ba7b8109dad41d180b400c04fd430c8", "identity--6ba7b810-9dad-41d1-80b4-00c04fd430c", "identity--6ba7b810-9dad-41d1-80b4-00c04fd430cg",
		"identity--{6ba7b810-9dad-41d1-80b4-00c04fd430c8}", "--6ba7b810-9dad-41d1-80b4-00c04fd430c8", "identity\u00a0--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
		"identity--6ba7b810\u20109dad-41d1-80b4-00c04fd430c8",
	} {
		if got, err := intel.CanonicalID(bad); err == nil {
			t.Errorf("CanonicalID(%q) = %q, want an error", bad, got)
		}
		if intel.SameID(bad, id) {
			t.Errorf("SameID(%q, %q) is true", bad, id)
		}
	}
}

func TestMarkingLevel(t *testing.T) {
	const other = "marking-definition--6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	for _, c := range []struct {
		name string
		raw  string
		want intel.TLP
	}{
		{"TLP 1.0 body, another id", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"red"}}`, intel.TLPRed},
		{"TLP 1.0 body, upper case", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2017-01-20T00:00:00.000Z","definition_type":"TLP","definition":{"tlp":"RED"}}`, intel.TLPRed},
		{"TLP 2.0 extension, another id", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2022-10-01T00:00:00.000Z","name":"x","extensions":{"` + intel.TLP2ExtensionID + `":{"extension_type":"property-extension","tlp_2_0":"red"}}}`, intel.TLPRed},
		{"OpenCTI", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2022-10-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"x"},"x_opencti_definition_type":"TLP","x_opencti_definition":"TLP:RED"}`, intel.TLPRed},
		{"MISP statement", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2022-10-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"tlp:red"}}`, intel.TLPRed},
		{"MISP name", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2022-10-01T00:00:00.000Z","name":"tlp:amber+strict","definition_type":"statement","definition":{"statement":"Copyright"}}`, intel.TLPAmberStrict},
		// A canonical id cannot be lowered by its body, but a body can raise it.
		{"canonical RED saying CLEAR", `{"type":"marking-definition","spec_version":"2.1","id":"` + intel.MarkingTLP1Red + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"white"}}`, intel.TLPRed},
		{"canonical GREEN saying RED", `{"type":"marking-definition","spec_version":"2.1","id":"` + intel.MarkingTLP1Green + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"red"}}`, intel.TLPRed},
		{"statement", `{"type":"marking-definition","spec_version":"2.1","id":"` + other + `","created":"2022-10-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2025"}}`, 0},
	} {
		var m intel.MarkingDefinition
		if err := json.Unmarshal([]byte(c.raw), &m); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, ok := intel.MarkingLevel(&m)
		if got != c.want || ok != (c.want != 0) {
			t.Errorf("%s: %v %v, want %v", c.name, got, ok, c.want)
		}
	}
	if _, ok := intel.MarkingLevel(nil); ok {
		t.Error("nil marking has a level")
	}
}

func TestTLPFromLabels(t *testing.T) {
	for _, c := range []struct {
		labels []string
		want   intel.TLP
	}{
		{[]string{"misp:category=\"Financial fraud\"", "tlp:green", "TLP:RED"}, intel.TLPRed},
		{[]string{"tlp:amber"}, intel.TLPAmber},
		{[]string{"malicious-activity", "tlp:ex:chr"}, 0},
		{nil, 0},
	} {
		got, ok := intel.TLPFromLabels(c.labels)
		if got != c.want || ok != (c.want != 0) {
			t.Errorf("%v: %v %v, want %v", c.labels, got, ok, c.want)
		}
	}
}

// FuzzCanonicalID: a canonical id is its own canonical form, differs from
// the input only in the case of its UUID, and names the same object.
func FuzzCanonicalID(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		c, err := intel.CanonicalID(id)
		if err != nil {
			if intel.SameID(id, id) {
				t.Fatalf("%q is refused but the same as itself", id)
			}
			return
		}
		if again, err := intel.CanonicalID(c); err != nil || again != c {
			t.Fatalf("%q: canonical %q is not its own canonical form: %q %v", id, c, again, err)
		}
		if len(c) != len(id) || !strings.EqualFold(c, id) || c[:strings.Index(c, "--")] != id[:strings.Index(id, "--")] {
			t.Fatalf("%q became %q", id, c)
		}
		if !intel.SameID(id, c) || c != strings.ToLower(c) {
			t.Fatalf("%q and %q", id, c)
		}
	})
}
