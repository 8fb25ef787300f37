package intel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The OASIS STIX 2.1 JSON schemas, shipped in testdata/schemas: every
// object tracehound writes, and every object it accepts, must satisfy
// them as well as the spec's rules that Validate checks.

const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

// localSchemas serves the schemas' own URLs from testdata.
type localSchemas struct{}

func (localSchemas) Load(url string) (any, error) {
	rel, ok := strings.CutPrefix(url, schemaBase)
	if !ok {
		return nil, fmt.Errorf("schema %s is not shipped", url)
	}
	f, err := os.Open(filepath.Join("testdata", "schemas", filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

// schemaFor compiles the schema of a STIX type.
func schemaFor(t *testing.T, typ string) *jsonschema.Schema {
	t.Helper()
	var rel string
	switch typ {
	case "relationship", "sighting":
		rel = "sros/" + typ + ".json"
	case "marking-definition", "extension-definition", "bundle":
		rel = "common/" + typ + ".json"
	case TypeCryptocurrencyWallet:
		// A custom observable: the core observable rules apply.
		rel = "common/cyber-observable-core.json"
	default:
		rel = "sdos/" + typ + ".json"
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[rel]; ok {
		return s
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(localSchemas{})
	s, err := c.Compile(schemaBase + rel)
	if err != nil {
		t.Fatalf("compile %s: %v", rel, err)
	}
	schemaCache[rel] = s
	return s
}

// checkSchema validates raw object JSON against its type's schema.
func checkSchema(t *testing.T, raw []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	m, _ := doc.(map[string]any)
	typ, _ := m["type"].(string)
	return schemaFor(t, typ).Validate(doc)
}

var standardNonSDO = map[string]bool{"relationship": true, "sighting": true, "marking-definition": true, "extension-definition": true, TypeCryptocurrencyWallet: true}

// TestObjectsMeetSchemas writes every kind of object tracehound models
// and checks each against the OASIS schemas.
func TestObjectsMeetSchemas(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "wallet-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	good, rejected, err := ParseBundle(data, 1<<20)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("%v %v", rejected, err)
	}
	types := map[string]bool{}
	for _, o := range good {
		raw, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSchema(t, raw); err != nil {
			t.Errorf("%s does not meet the OASIS schema: %v", o.ObjectID(), err)
		}
		types[o.ObjectType()] = true
	}
	for _, typ := range []string{"identity", "threat-actor", "intrusion-set", "incident", "report", "indicator", "relationship", "sighting", "note", "marking-definition", TypeCryptocurrencyWallet} {
		if !types[typ] {
			t.Errorf("no %s in the sample bundle", typ)
		}
	}
	// The hostile bundle's accepted objects meet the schemas too.
	data, err = os.ReadFile(filepath.Join("testdata", "hostile-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	good, _, err = ParseBundle(data, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range good {
		if _, err := os.Stat(filepath.Join("testdata", "schemas", "sdos", o.ObjectType()+".json")); err != nil && !standardNonSDO[o.ObjectType()] {
			continue // custom objects (x-..., or declared by a new-sdo extension) have no schema
		}
		raw, _ := json.Marshal(o)
		if err := checkSchema(t, raw); err != nil {
			t.Errorf("accepted %s fails the OASIS schema: %v", o.ObjectID(), err)
		}
	}
}
