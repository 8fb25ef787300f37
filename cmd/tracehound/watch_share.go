package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/watch"
)

// maxSharedTxs bounds the transaction hashes a shared alert names: the
// first ones locate the deposit, and the alert in GET /v1/alerts has all.
const maxSharedTxs = 20

// errNoIdentity refuses to share before the node knows whom it speaks
// for: every object it publishes names its identity as the creator.
var errNoIdentity = errors.New("this node has no identity to publish under: run `tracehound intel identity NAME` first")

// watchShare checks a share request against the node: a collection of
// its own (not a peer's inbox), a TLP that leaves the node, and an
// identity to publish as. Mistakes are InputErrors.
func (s *service) watchShare(ctx context.Context, req *api.ShareRequest) (*watch.Share, error) {
	bad := func(err error) error { return &api.InputError{Err: err} }
	level := intel.TLPAmber
	if req.TLP != "" {
		var err error
		if level, err = intel.ParseTLP(req.TLP); err != nil {
			return nil, bad(fmt.Errorf("share: %w", err))
		}
	}
	sh := &watch.Share{Collection: req.Collection, TLP: level}
	if err := sh.Validate(); err != nil {
		return nil, bad(err)
	}
	if strings.HasPrefix(sh.Collection, inboxPrefix) {
		return nil, bad(fmt.Errorf("share: collection %q holds what a peer sent; share into one of this node's own", sh.Collection))
	}
	if err := checkCollection(ctx, s.db, sh.Collection); err != nil {
		var missing *noCollectionError
		if errors.As(err, &missing) {
			return nil, bad(fmt.Errorf("share: %w", err))
		}
		return nil, err
	}
	if _, ok, err := s.db.NodeIdentity(ctx); err != nil {
		return nil, err
	} else if !ok {
		return nil, bad(fmt.Errorf("share: %w", errNoIdentity))
	}
	return sh, nil
}

// PublishAlert implements watch.Publisher: the alert's endpoint becomes
// a STIX indicator, with its wallet and a report, in the watch's
// collection, created by this node's identity and marked with the
// watch's TLP. The ids derive from the watch and the endpoint, so that
// more funds arriving there later publish a new version of the same
// indicator. The TAXII server audits the objects added; the watch
// service audits the share.
func (s *service) PublishAlert(ctx context.Context, w watch.Watch, al watch.Alert) (watch.Shared, error) {
	me, ok, err := s.db.NodeIdentity(ctx)
	if err != nil {
		return watch.Shared{}, fmt.Errorf("publish alert: %w", err)
	}
	if !ok {
		return watch.Shared{}, errNoIdentity
	}
	objs, err := intel.Publish(alertPublication(me, w, al))
	if err != nil {
		return watch.Shared{}, err
	}
	sh := watch.Shared{Collection: w.Share.Collection, TLP: w.Share.TLP}
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		if raws[i], err = json.Marshal(o); err != nil {
			return watch.Shared{}, err
		}
		switch o.ObjectType() {
		case intel.TypeIndicator:
			sh.Indicator = o.ObjectID()
		case intel.TypeReport:
			sh.Report = o.ObjectID()
		}
	}
	st, err := s.tx.AddObjects(ctx, sh.Collection, raws)
	if err != nil {
		return watch.Shared{}, err
	}
	if st.FailureCount > 0 {
		f := st.Failures[0]
		return watch.Shared{}, fmt.Errorf("%d of %d objects refused, %s first: %s", st.FailureCount, st.TotalCount, f.ID, f.Message)
	}
	// The node's own screening flags what it published, as its peers' do.
	s.intelChanged()
	return sh, nil
}

// alertPublication describes an alert as intelligence: which case (the
// watch) traced the stolen funds to which service's address, how much and
// in which transactions.
func alertPublication(me *intel.Identity, w watch.Watch, al watch.Alert) intel.Publication {
	asset := string(al.Asset)
	if asset == "" {
		asset = "the native asset"
	}
	txs := al.Txs
	more := ""
	if len(txs) > maxSharedTxs {
		txs, more = txs[:maxSharedTxs], fmt.Sprintf(" and %d more", len(al.Txs)-maxSharedTxs)
	}
	how := string(al.Label.Category)
	if al.Label.Heuristic != "" {
		how += ", by " + al.Label.Heuristic
	}
	desc := fmt.Sprintf("Case %s (a %s watch saved %s): stolen funds reached %s, an address of %s (%s). It holds %s base units of %s from them (%s at the check before), as of block %d; transactions %s%s.",
		w.Name, w.Chain, w.Created.Format(time.DateOnly), al.Address, al.Label.Entity, how, al.Amount, asset, al.Previous, al.Through, strings.Join(txs, ", "), more)
	return intel.Publication{
		Creator:     me,
		Name:        fmt.Sprintf("Case %s: stolen funds at %s %s", w.Name, al.Label.Entity, al.Address),
		Description: desc,
		TLP:         w.Share.TLP,
		Addresses:   []intel.Listed{{Chain: string(al.Chain), Address: al.Address, Role: desc}},
		// One indicator per watch and endpoint: the watch's creation
		// time tells a watch apart from a deleted one of the same name.
		Key:     strings.Join([]string{"watch", w.Name, w.Created.UTC().Format(time.RFC3339Nano), al.Address, string(al.Asset)}, " "),
		Created: w.Created,
		Now:     al.Raised,
	}
}
