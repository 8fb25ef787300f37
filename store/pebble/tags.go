package pebble

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/internal/kv"
	"github.com/tracehound/tracehound/tags"
)

// Tag keys: t/p/<pack>\0<n:4> -> tag. A pack is one range, so replacing
// it is one range deletion plus its writes, in one batch.
const tagsPack = prefixTags + "p/"

func packPrefix(pack string) []byte {
	k := append([]byte(tagsPack), pack...)
	return append(k, 0)
}

// keyTagsGeneration holds a value that every change of the tags
// replaces, in the change's batch: a reader that cached the tags (the
// screening snapshot) tells whether they are current without reading
// them.
const keyTagsGeneration = prefixMeta + "tags-generation"

// TagsGeneration identifies the tags' state: it changes with every
// ReplacePack; "" for a store whose tags never changed since it began to
// keep it.
func (d *DB) TagsGeneration(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	v, _, err := d.get([]byte(keyTagsGeneration))
	if err != nil {
		return "", fmt.Errorf("tags generation: %w", err)
	}
	return hex.EncodeToString(v), nil
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
	if err := kv.DeleteRange(b, pfx); err != nil {
		return err
	}
	// A random value, not a counter: two concurrent changes must not
	// leave the same one.
	gen := make([]byte, 16)
	rand.Read(gen)
	if err := b.Set([]byte(keyTagsGeneration), gen, nil); err != nil {
		return err
	}
	var v []byte
	for i, t := range ts {
		v = appendTag(v[:0], t)
		k := append(append([]byte(nil), pfx...), byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// appendTag encodes a tag: its strings length-prefixed, then the
// confidence and the time last modified as varints.
func appendTag(b []byte, t tags.Tag) []byte {
	for _, s := range []string{string(t.Address.Chain), string(t.Address.Network), t.Address.Kind, t.Address.Value,
		t.Entity, t.Label, string(t.Category), t.Abuse, t.Source} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(t.Confidence))
	b = binary.AppendUvarint(b, uint64(len(t.ConfidenceLevel)))
	b = append(b, t.ConfidenceLevel...)
	var lm int64
	if !t.LastMod.IsZero() {
		lm = t.LastMod.Unix()
	}
	return binary.AppendVarint(b, lm)
}

// tagReader decodes what appendTag wrote; the first error sticks.
type tagReader struct {
	b   []byte
	err error
}

func (r *tagReader) uvar() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tagReader) svar() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tagReader) bytes() []byte {
	n := r.uvar()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *tagReader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated tag record")
	}
	r.b = nil
}

// AllTags loads every stored tag. Repeated strings (entities, sources,
// categories) are shared, so the index holds each once.
func (d *DB) AllTags(ctx context.Context) ([]tags.Tag, error) {
	intern := make(map[string]string)
	str := func(dd *tagReader) string {
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
		dd := tagReader{b: v}
		t := tags.Tag{Pack: pack}
		t.Address.Chain = chain.Chain(str(&dd))
		t.Address.Network = chain.Network(str(&dd))
		t.Address.Kind = str(&dd)
		t.Address.Value = string(dd.bytes())
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
