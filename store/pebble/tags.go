package pebble

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Tag keys: t/p/<pack>\0<n:4> -> tag. A pack is one range, so replacing
// it is one range deletion plus its writes, in one batch.
const tagsPack = prefixTags + "p/"

func packPrefix(pack string) []byte {
	k := append([]byte(tagsPack), pack...)
	return append(k, 0)
}

// ReplacePack swaps a pack's tags atomically.
func (d *DB) ReplacePack(ctx context.Context, pack string, ts []tags.Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if bytes.IndexByte([]byte(pack), 0) >= 0 {
		return fmt.Errorf("pack name %q contains NUL", pack)
	}
	b := d.db.NewBatch()
	defer b.Close()
	pfx := packPrefix(pack)
	if err := deleteRange(b, pfx); err != nil {
		return err
	}
	var e enc
	for i, t := range ts {
		e.b = e.b[:0]
		encodeTag(&e, t)
		k := append(append([]byte(nil), pfx...), byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		if err := b.Set(k, e.b, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func encodeTag(e *enc, t tags.Tag) {
	e.str(string(t.Address.Chain))
	e.str(string(t.Address.Network))
	e.str(t.Address.Kind)
	e.str(t.Address.Value)
	e.str(t.Entity)
	e.str(t.Label)
	e.str(string(t.Category))
	e.str(t.Abuse)
	e.str(t.Source)
	e.uvar(uint64(t.Confidence))
	e.str(t.ConfidenceLevel)
	var lm int64
	if !t.LastMod.IsZero() {
		lm = t.LastMod.Unix()
	}
	e.svar(lm)
}

// AllTags loads every stored tag. Repeated strings (entities, sources,
// categories) are shared, so the index holds each once.
func (d *DB) AllTags(ctx context.Context) ([]tags.Tag, error) {
	intern := make(map[string]string)
	str := func(dd *dec) string {
		b := dd.bytes()
		if s, ok := intern[string(b)]; ok {
			return s
		}
		s := string(b)
		intern[s] = s
		return s
	}
	var out []tags.Tag
	err := d.scan(ctx, []byte(tagsPack), func(k, v []byte) error {
		pack := string(k[len(tagsPack) : len(k)-5])
		dd := dec{b: v}
		t := tags.Tag{Pack: pack}
		t.Address.Chain = chain.Chain(str(&dd))
		t.Address.Network = chain.Network(str(&dd))
		t.Address.Kind = str(&dd)
		t.Address.Value = dd.str()
		t.Entity = str(&dd)
		t.Label = str(&dd)
		t.Category = tags.Category(str(&dd))
		t.Abuse = str(&dd)
		t.Source = str(&dd)
		t.Confidence = int(dd.uvar())
		t.ConfidenceLevel = str(&dd)
		if lm := dd.svar(); lm != 0 {
			t.LastMod = time.Unix(lm, 0).UTC()
		}
		if dd.err != nil {
			return fmt.Errorf("tag %q: %w", k, dd.err)
		}
		if p, ok := intern[pack]; ok {
			t.Pack = p
		} else {
			intern[pack] = pack
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	return out, nil
}
