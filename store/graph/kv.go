package graph

import (
	"github.com/tracehound/tracehound/store/internal/kv"
)

// The graph's key prefixes: postings, transactions, spends, totals and
// tips under g/, its format under m/, which it shares with the other
// domains' metadata.
const prefixMeta = "m/"

// get reads one key. A transaction record (g/x/) not in g/x/ is looked
// for in the chain's generations (see bulk_gen.go), so that every reader
// of transactions by hash sees bulk-loaded ones.
func (d *Store) get(key []byte) ([]byte, bool, error) {
	if len(key) > len(gTx) && string(key[:len(gTx)]) == gTx {
		return d.getTx(key)
	}
	return d.getMain(key)
}

// getMain reads one key as it is.
func (d *Store) getMain(key []byte) ([]byte, bool, error) { return kv.Get(d.db, key) }

func prefixEnd(prefix []byte) []byte { return kv.PrefixEnd(prefix) }
