package ingest_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// sliceStream yields blocks, then err (io.EOF by default).
type sliceStream struct {
	blocks []*chain.Block
	err    error
}

func (s *sliceStream) Chain() chain.Chain { return chain.Ethereum }
func (s *sliceStream) ID() string         { return "eth:slice" }
func (s *sliceStream) Next(context.Context) (*chain.Block, error) {
	if len(s.blocks) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	b := s.blocks[0]
	s.blocks = s.blocks[1:]
	return b, nil
}

func bulk(db *pebble.DB, maxBlocks int) func(context.Context, chain.Chain, string) (ingest.BulkLoader, error) {
	return func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
		return db.Graph().NewBulkLoader(ctx, c, source, graph.BulkOptions{MaxBlocks: maxBlocks})
	}
}

func TestRunStreamBulk(t *testing.T) {
	ctx := context.Background()
	blocks := branch(30, 30, "").blocks
	ref := openDB(t)
	if _, err := ingest.RunStream(ctx, ref.Graph(), &sliceStream{blocks: blocks}, ingest.Options{Batch: 4}); err != nil {
		t.Fatal(err)
	}

	// A stream that fails after block 12: what was read before is stored.
	db := openDB(t)
	boom := errors.New("truncated file")
	st, err := ingest.RunStream(ctx, db.Graph(), &sliceStream{blocks: blocks[:13], err: boom}, ingest.Options{Batch: 4, Bulk: bulk(db, 5)})
	if !errors.Is(err, boom) || st.Height != 12 {
		t.Fatalf("failed stream: %+v %v", st, err)
	}
	// A cancelled run stores nothing of its last chunk and reports the
	// tip it left.
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	st, err = ingest.RunStream(cctx, db.Graph(), &sliceStream{blocks: blocks}, ingest.Options{Batch: 1, Bulk: bulk(db, 5), Progress: func(ingest.Progress) {
		if n++; n == 8 {
			cancel()
		}
	}})
	if tip, _, _ := db.Graph().Tip(ctx, chain.Ethereum); !errors.Is(err, context.Canceled) || st.Height != tip.Height || tip.Height != 17 {
		t.Fatalf("cancelled run: %+v %v, tip %d", st, err, tip.Height)
	}
	// The next run resumes after the tip, and the store equals one
	// written batch by batch.
	st, err = ingest.RunStream(ctx, db.Graph(), &sliceStream{blocks: blocks}, ingest.Options{Batch: 4, Bulk: bulk(db, 0)})
	if err != nil || st.Height != 30 || st.Blocks != 13 {
		t.Fatalf("resumed: %+v %v", st, err)
	}
	for _, addr := range []string{"0xaaaa", "0xbbbb"} {
		if got, want := totals(t, db, addr), totals(t, ref, addr); got != want {
			t.Errorf("%s:\n got %s\nwant %s", addr, got, want)
		}
	}
}
