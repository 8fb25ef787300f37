package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/taxii"
)

// TestFlagOwnerAnyCase: an indicator a partner wrote is flagged as the
// partner's whatever the case of its UUID, never as the node's own.
func TestFlagOwnerAnyCase(t *testing.T) {
	ctx := context.Background()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	must(t, err)
	defer n.Close()
	must(t, n.PutCollection(ctx, taxii.Collection{ID: "shared", CanRead: []string{"partner"}, CanWrite: []string{"partner"}}))
	idx, err := n.Index(ctx)
	must(t, err)
	now := intel.NewTimestamp(time.Now().Add(-time.Minute))
	wallets := map[string]string{"lower": "0x00000000000000000000000000000000000bad01", "upper": "0x00000000000000000000000000000000000bad02"}
	var raws []json.RawMessage
	for kind, addr := range wallets {
		id := intel.NewID(intel.TypeIndicator)
		if kind == "upper" {
			id = intel.TypeIndicator + "--" + strings.ToUpper(strings.TrimPrefix(id, intel.TypeIndicator+"--"))
		}
		raw, err := json.Marshal(&intel.Indicator{Common: intel.Common{Type: intel.TypeIndicator, SpecVersion: intel.SpecVersion, ID: id, Created: now, Modified: now,
			ObjectMarkingRefs: []string{intel.MarkingTLP2Green}}, Pattern: "[cryptocurrency-wallet:value = '" + addr + "']", PatternType: "stix", ValidFrom: now})
		must(t, err)
		raws = append(raws, raw)
	}
	st, err := n.TAXII().AddObjectsFrom(ctx, "shared", "partner", raws)
	if err != nil || st.SuccessCount != 2 {
		t.Fatalf("add: %+v %v", st, err)
	}
	must(t, n.reloadIntel(ctx))
	for kind, addr := range wallets {
		r := idx.Screen(screen.Query{Address: addr})
		if len(r.Intel) != 1 || r.Intel[0].Partner != "partner" {
			t.Errorf("%s-case indicator: flagged as %+v", kind, r.Intel)
		}
	}
}
