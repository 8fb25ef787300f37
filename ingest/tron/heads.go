package tron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// BlockInterval is Tron's time between blocks: a witness makes one every
// 3 s slot.
const BlockInterval = 3 * time.Second

// ErrNoSubscriptions is WatchHeads' error when SourceOptions.HeadPoll is
// negative: java-tron's HTTP API pushes nothing, so there is nothing to
// watch but by polling.
var ErrNoSubscriptions = errors.New("java-tron's HTTP API sends no block notifications")

const (
	// headTimeout bounds one request of the head poll: the next poll
	// asks again soon anyway.
	headTimeout = 10 * time.Second
	// headMargin is how much earlier than a block interval after the last
	// block the poll resumes, for blocks that come early or were seen
	// late.
	headMargin = 500 * time.Millisecond
)

// WatchHeads sends the height of each new block the node has, until ctx
// ends; it implements ingest.HeadWatcher. java-tron's HTTP API has no
// push, so it polls the latest block's header (getblock without a
// height and without detail: a few hundred bytes, not the block) every
// SourceOptions.HeadPoll while a block is due, and after each block it
// rests for most of a block interval: four or five requests a block
// (about 1.5 a second, 130,000 a day) at the default, and a block is
// announced within HeadPoll of its arrival. Against a provider with a
// daily quota, raise HeadPoll. A reader that falls behind gets the
// latest head.
func (s *Source) WatchHeads(ctx context.Context) (<-chan uint64, error) {
	if s.opts.HeadPoll < 0 {
		return nil, fmt.Errorf("tron source %s: %w", s.node, ErrNoSubscriptions)
	}
	out := make(chan uint64, 1)
	go s.pollHeads(ctx, out)
	return out, nil
}

func (s *Source) pollHeads(ctx context.Context, out chan uint64) {
	defer close(out)
	rest := max(s.opts.HeadPoll, s.blockInterval-s.opts.HeadPoll-headMargin)
	t := time.NewTimer(0)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := s.opts.HeadPoll
		// A node that does not answer is the reader's to report: its
		// own requests fail. Keep asking.
		if id, height, err := s.latest(ctx); err == nil && id != last {
			// The first answer is the head the reader looks at itself.
			if last != "" {
				select {
				case <-out:
				default:
				}
				out <- height
			}
			last = id
			wait = rest
		}
		t.Reset(wait)
	}
}

// latest is the id and height of the node's latest block, asked once.
func (s *Source) latest(ctx context.Context) (string, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, headTimeout)
	defer cancel()
	var body []byte
	err := errNoEndpoint
	if !s.noGetBlock.Load() {
		body, err = s.send(ctx, "getblock", []byte(`{"detail":false}`))
		var ne *NodeError
		if errors.Is(err, errNoEndpoint) || errors.As(err, &ne) {
			s.noGetBlock.Store(true)
		}
	}
	if s.noGetBlock.Load() {
		body, err = s.send(ctx, "getnowblock", []byte("{}"))
	}
	if err != nil {
		return "", 0, err
	}
	return decodeHead(body)
}

// decodeHead reads a block's id and height from getblock's or
// getnowblock's answer, and checks that the id names the height.
func decodeHead(body []byte) (string, uint64, error) {
	var b struct {
		BlockID string `json:"blockID"`
		Header  struct {
			Raw struct {
				Number uint64 `json:"number"`
			} `json:"raw_data"`
		} `json:"block_header"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "", 0, err
	}
	h, err := idHeight(b.BlockID)
	if err != nil || h != b.Header.Raw.Number {
		return "", 0, fmt.Errorf("latest block: id %q for block %d", b.BlockID, b.Header.Raw.Number)
	}
	return b.BlockID, h, nil
}
