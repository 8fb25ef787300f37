package intel

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMembers: on every valid JSON object, members finds the properties
// encoding/json finds, with the same values (the last of a repeated
// name); on anything else it fails or not, but never panics.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, ` { "type" : "indicator" , "x" : [1, {"y": "}"}], "z":null } `,
		`{"a\"b":"c\\"}`, `{"a":"\u00e9","a":2}`, `{"a":{"b":[]},"c":true,"d":-1.5e3}`,
		`{"a":`, `{"a" 1}`, `[1,2]`, `null`, `{"a":"unterminated}`, `{"x-custom":{"nested":["]"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := members(b)
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil || want == nil {
			return
		}
		if err != nil {
			t.Fatalf("%q: a valid object is %v", b, err)
		}
		got := map[string]json.RawMessage{}
		for _, m := range ms {
			got[m.name] = m.value
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json finds %d", b, len(got), len(want))
		}
		for k, v := range want {
			var a, b2 bytes.Buffer
			if json.Compact(&a, v) != nil || json.Compact(&b2, got[k]) != nil || !bytes.Equal(a.Bytes(), b2.Bytes()) {
				t.Fatalf("%q: member %q is %q, encoding/json reads %q", b, k, got[k], v)
			}
		}
	})
}
