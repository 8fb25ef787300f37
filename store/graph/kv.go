package graph

import (
	"github.com/tracehound/tracehound/store/internal/kv"
)

// The graph's key prefixes: postings, transactions, spends, totals and
// tips under g/, its format under m/, which it shares with the other
// domains' metadata.
const prefixMeta = "m/"

func (d *Store) get(key []byte) ([]byte, bool, error) { return kv.Get(d.db, key) }

func prefixEnd(prefix []byte) []byte { return kv.PrefixEnd(prefix) }
