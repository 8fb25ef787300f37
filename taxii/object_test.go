package taxii

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseObject: parsing never panics; an object it accepts keeps its
// JSON compacted (as json.Compact leaves it), and parses again to the
// same object with the same creator.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2025-01-01T00:00:00Z","modified":"2025-01-02T00:00:00.123Z","created_by_ref":"identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","revoked":true}`,
		"{ \"type\" : \"ipv4-addr\", \"id\":\"ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"value\":\"a \\\" b\" }",
		`{"type":"note","id":"note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z","created_by_ref":5}`,
		`{"type":"x-thing","id":"x-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","revoked":"yes"}`,
		`[1]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, creator, err := parseObject(raw, false)
		if err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, raw); err != nil {
			t.Fatalf("%q accepted but does not compact: %v", raw, err)
		}
		if !bytes.Equal(o.Raw, want.Bytes()) {
			t.Fatalf("%q kept as %q, compacted %q", raw, o.Raw, want.Bytes())
		}
		again, creator2, err := parseObject(o.Raw, true)
		if err != nil || again.ID != o.ID || !again.Version.Equal(o.Version) || again.Revoked != o.Revoked || creator2 != creator {
			t.Fatalf("%q: parsed again as %+v %q %v, first %+v %q", raw, again, creator2, err, o, creator)
		}
	})
}

// FuzzDecodeHead: the head read member by member is the head
// json.Unmarshal reads, and fails where it fails, whether or not the
// input is known to be valid JSON.
func FuzzDecodeHead(f *testing.F) {
	for _, s := range []string{
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2025-01-01T00:00:00Z","modified":"2025-01-02T00:00:00.123Z","object_marking_refs":["marking-definition--1"],"created_by_ref":"identity--8e","revoked":true,"pattern":"[a:b = '}]\"{']","x":{"y":[1,{"z":"]"}]}}`,
		`{"Type":"a","TYPE":"b","id":null,"spec_version":null,"\u0063reated":"c","object_marking_refs":[1],"revoked":"yes","created_by_ref":5}`,
		` { "type" : "ipv4-addr" , "x" : [ ] , "modified" : 5 } `,
		`{"TYPE":"b","Id":"x","Spec_Version":"2.1","type":"a","\u0063reated":"c","CREATED_BY_REF":"i","revoked":null}`,
		"{\"type\":\"a\xff\",\"object_marking_refs\":[\"b\xfe\", \"\" ],\"id\":\"\\u00e9\"}",
		`{"type":5}`, `{"id":{"a":1}}`, `{}`, `[1]`, `{`, `null`, `{"a":tru}`, `{"type":"a",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want head
		werr := json.Unmarshal(raw, &want)
		for _, valid := range []bool{false, json.Valid(raw)} {
			var got head
			gerr := decodeHead(raw, valid, &got)
			if (gerr == nil) != (werr == nil) || (werr != nil && gerr.Error() != werr.Error()) {
				t.Fatalf("%q (valid %v): error %v, json.Unmarshal %v", raw, valid, gerr, werr)
			}
			if werr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q (valid %v): head %+v, json.Unmarshal %+v", raw, valid, got, want)
			}
		}
	})
}
