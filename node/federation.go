package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/taxii"
)

// inboxPrefix names the local collection each peer's objects are kept
// in: readable by no partner, so received intelligence is never passed
// on by this node.
const inboxPrefix = "from-"

// newTAXII returns the node's TAXII server over its store. The server
// enforces who owns what: the node's identity is bound to the node, what
// its own analysts' keys write is the node's, and a partner may only
// version, revoke or delete what it wrote.
func (n *Node) newTAXII() *taxii.Server {
	cfg := taxii.Config{
		Store:   n.db,
		Policy:  taxii.TLPPolicy{Unmarked: intel.TLPAmber},
		Auditor: taxii.AuditLog(n.audit),
		Title:   "tracehound",
		Logger:  n.log,
		Now:     n.now,
		NodeIdentity: func(ctx context.Context) (string, error) {
			me, ok, err := n.db.NodeIdentity(ctx)
			if err != nil || !ok {
				return "", err
			}
			return me.ID, nil
		},
		// A write lands in screening at once, as polled objects do.
		OnChange: func(context.Context, string) { n.intelChanged() },
	}
	if n.cfg.TAXII != nil {
		n.cfg.TAXII(&cfg)
	}
	return taxii.New(cfg)
}

// TAXII is the node's TAXII server, to register on the API.
func (n *Node) TAXII() *taxii.Server { return n.tx }

// pruneStatuses deletes expired TAXII statuses now and then until ctx
// ends: adding objects prunes too, but a node nobody sends to must forget
// them as well.
func (n *Node) pruneStatuses(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c, err := n.tx.PruneStatuses(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("taxii: prune statuses", "err", err)
		} else if c > 0 {
			n.log.Debug("taxii: pruned statuses", "count", c)
		}
	}
}

// reloadIntel rebuilds the screening index's intelligence layer from every
// collection the node holds: what it published itself, what partners
// wrote into its collections and what its peers sent. Each flag says who
// flagged the address (the object's owner), in which report, under which
// TLP marking, read by content from the marking definitions of every
// collection.
func (n *Node) reloadIntel(ctx context.Context) error {
	start := time.Now()
	v := newIntelView(n)
	if _, _, err := v.update(ctx); err != nil {
		return err
	}
	n.index.SetIntel(v.entries())
	n.log.Debug("intel loaded", "addresses", len(v.byAddr), "elapsed", time.Since(start).String())
	return nil
}

// latestIntel reads the latest version of a collection's indicators,
// reports and marking definitions.
func (n *Node) latestIntel(ctx context.Context, collection string) ([]taxii.Object, error) {
	var raws []taxii.Object
	var after time.Time
	for {
		page, err := n.db.TAXIIObjects(ctx, collection, taxii.Filter{AddedAfter: after, Versions: taxii.VersionFilter{Last: true}, Types: intelTypes}, 10_000)
		if err != nil {
			return nil, fmt.Errorf("load intel of %s: %w", collection, err)
		}
		raws = append(raws, page.Objects...)
		if len(page.Objects) > 0 {
			after = page.Objects[len(page.Objects)-1].DateAdded
		}
		if !page.More || len(page.Objects) == 0 {
			return raws, nil
		}
	}
}

// intelChanged asks for the intelligence layer to be brought up to date.
// Requests coalesce: a partner's report arriving in many chunks costs a
// few updates, each reading what was added since the last.
func (n *Node) intelChanged() {
	select {
	case n.intelDirty <- struct{}{}:
	default:
	}
}

// swapSpacing is how many times its own duration an intelligence layer
// swap waits before the next.
const swapSpacing = 4

// intelExpiryCheck is how often indicators are checked for a passed
// valid_until when nothing else changes.
const intelExpiryCheck = time.Minute

// liveIntel is the view the intelligence layer was last set from, nil
// while none is current (not yet read, or to be read again).
type liveIntel struct {
	mu sync.Mutex
	v  *intelView
	// afterFlag, if set, runs between flagging a peer's objects and
	// storing them; an error stores nothing, as a crash there would.
	afterFlag func() error
}

// reloadOnChange keeps the intelligence layer current until ctx ends. It
// holds a view of every collection's flags and, on each change, reads
// only what was added since (by date_added) and swaps the flags of the
// addresses that changed in one go, so that a large report is indexed at
// the pace it is stored rather than re-read whole for each page of it. A
// deletion rebuilds the view from the store. A peer's objects are
// flagged through the same view before they are stored (flagFirst),
// which moves its cursor past them once they are.
func (n *Node) reloadOnChange(ctx context.Context) {
	tick := time.NewTicker(intelExpiryCheck)
	defer tick.Stop()
	var nextSwap time.Time
	reread := false // the first read is what Index loaded: no change
	for {
		n.intel.mu.Lock()
		v := n.intel.v
		n.intel.mu.Unlock()
		if v == nil {
			if v = n.loadIntelView(ctx); v != nil && reread {
				n.screeningChanged(ctx)
			}
			reread = true
		}
		select {
		case <-ctx.Done():
			return
		case <-n.intelDirty:
		case <-tick.C:
		}
		if v == nil {
			continue
		}
		// A swap changes only the addresses touched, but copies the
		// address map: while a large report streams in, chunk after
		// chunk, updates are spaced so that swapping takes at most a
		// fifth of the time; the last chunk is flagged at most four
		// swaps' time later.
		if wait := time.Until(nextSwap); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		start := time.Now()
		// Imports hold mu while they swap a layer: the intelligence
		// layer is swapped under it too, so that the first load
		// (Index) and an update never cross.
		n.mu.Lock()
		n.intel.mu.Lock()
		if n.intel.v != v {
			// Dropped by a failed store of flagged objects: read again.
			n.intel.mu.Unlock()
			n.mu.Unlock()
			continue
		}
		changes, stale, err := v.update(ctx)
		touched := len(changes)
		if err == nil && !stale && touched > 0 {
			// One swap for everything added since the last update: a
			// page of a partner's report, however many objects it holds.
			// A layer read from the screening snapshot is set whole.
			t := time.Now()
			if !n.index.ChangeIntel(changes) {
				n.index.SetIntel(v.entries())
			}
			nextSwap = time.Now().Add(swapSpacing * time.Since(t))
		}
		if err != nil || stale {
			n.intel.v = nil
		}
		n.intel.mu.Unlock()
		n.mu.Unlock()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				n.log.Error("update intel; reading it again", "err", err)
			}
		case touched > 0:
			n.log.Debug("intel updated", "addresses", touched, "elapsed", time.Since(start).String())
			n.screeningChanged(ctx)
		}
	}
}

// loadIntelView reads the intelligence layer whole from the store and
// swaps it in, returning the view or nil if it could not be read.
func (n *Node) loadIntelView(ctx context.Context) *intelView {
	start := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.intel.mu.Lock()
	defer n.intel.mu.Unlock()
	v := newIntelView(n)
	if _, _, err := v.update(ctx); err != nil {
		if ctx.Err() == nil {
			n.log.Error("load intel", "err", err)
		}
		return nil
	}
	n.index.SetIntel(v.entries())
	n.intel.v = v
	n.log.Debug("intel loaded", "addresses", len(v.byAddr), "elapsed", time.Since(start).String())
	return v
}

// ownFlags names the node itself as who flagged its own indicators.
const ownFlags = "this node"

// flagFirst puts the flags of objects about to be stored in a collection
// in the intelligence layer at once, in one swap, and returns the view
// that took them, nil if none did (no view is current, or the objects
// bring a marking definition, which may change any flag: the update
// after the store takes them then). The objects passed STIX validation
// and the server's checks (AddHooks' Vetted). owner, if set, is who
// flags them (the server's checks made them theirs), else the view
// reads it as it does for stored objects.
func (n *Node) flagFirst(ctx context.Context, collection string, objs []intel.Object, owner string) *intelView {
	n.intel.mu.Lock()
	defer n.intel.mu.Unlock()
	v := n.intel.v
	if v == nil || !v.loaded || v.deletions != n.tx.Deletions() {
		return nil
	}
	cv := v.cols[collection]
	if cv == nil {
		return nil
	}
	for _, o := range objs {
		// A marking the view holds already, saying the same, changes no
		// flag; another may change any.
		if m, ok := o.(*intel.MarkingDefinition); ok {
			if old := v.markings[m.ID]; old == nil || !slices.Equal(markingLevel(old), markingLevel(m)) {
				return nil
			}
		}
	}
	touched := map[chain.Key]bool{}
	if err := v.reflag(ctx, cv, cv.flags.Add(objs), n.now(), owner, touched); err != nil {
		// The view took the objects but not their flags: read it again.
		n.log.Error("flag a peer's objects; reading intel again", "err", err)
		n.intel.v = nil
		n.intelChanged()
		return nil
	}
	if changes := v.changes(touched); len(changes) > 0 && !n.index.ChangeIntel(changes) {
		n.index.SetIntel(v.entries())
	}
	return v
}

// pulledStored moves the cursor of the view that flagged a peer's
// objects past them once they are stored, if it had read the inbox up to
// them: the update that follows the store then has nothing to read again.
func (n *Node) pulledStored(v *intelView, inbox string, prev time.Time, stored []taxii.Object) {
	n.intel.mu.Lock()
	defer n.intel.mu.Unlock()
	if n.intel.v != v || len(stored) == 0 {
		return
	}
	if cv := v.cols[inbox]; cv != nil && cv.after.Equal(prev) {
		cv.after = stored[len(stored)-1].DateAdded
	}
}

// dropIntelView has the intelligence layer read again from the store:
// the view flagged objects that were then not stored.
func (n *Node) dropIntelView(v *intelView) {
	n.intel.mu.Lock()
	if n.intel.v == v {
		n.intel.v = nil
	}
	n.intel.mu.Unlock()
	n.intelChanged()
}

// flagging has a TAXII server's store of objects flagged first: what
// its checks keep is flagged before it is written (flagFirst), the view
// moves past it once written, and a failed store has the layer read
// again from the store, dropping the flags of what was not stored.
type flagging struct {
	n          *Node
	collection string
	// owner is as flagFirst's.
	owner string
	// objs are the objects decoded, by their index in the store's batch.
	objs []intel.Object
	// after, if set, runs between the flagging and the store; an error
	// stores nothing, as a crash there would.
	after   func() error
	flagged *intelView
}

// hooks are the store's hooks that flag first.
func (f *flagging) hooks(ctx context.Context) taxii.AddHooks {
	return taxii.AddHooks{
		Vetted: func(kept []int) error {
			in := make([]intel.Object, 0, len(kept))
			for _, i := range kept {
				if makesFlags(f.objs[i].ObjectType()) {
					in = append(in, f.objs[i])
				}
			}
			f.flagged = f.n.flagFirst(ctx, f.collection, in, f.owner)
			if f.after != nil {
				return f.after()
			}
			return nil
		},
		Stored: func(prev time.Time, stored []taxii.Object) {
			if f.flagged != nil {
				f.n.pulledStored(f.flagged, f.collection, prev, stored)
			}
		},
	}
}

// done follows the store, err its outcome: screening hears of the flags
// kept, or the view that took them is read again.
func (f *flagging) done(ctx context.Context, err error) {
	switch {
	case f.flagged == nil:
	case err != nil:
		f.n.dropIntelView(f.flagged)
	default:
		f.n.screeningChanged(ctx)
	}
}

// intelView is what the intelligence layer holds, kept by the node so
// that it can be brought up to date with what was added since it was
// read: per collection, the flags of its indicators; per address, every
// flag on it.
type intelView struct {
	n    *Node
	cols map[string]*colView
	// markings are the marking definitions of every collection, by id:
	// an indicator's TLP is read by content from any of them.
	markings map[string]*intel.MarkingDefinition
	byAddr   map[chain.Key][]addrFlag
	addrs    map[chain.Key]chain.Address
	// deletions is the TAXII server's count of deletions when the view
	// was read from the store; another count means it is stale.
	deletions uint64
	loaded    bool
}

// colView is one collection's part of an intelView.
type colView struct {
	id    string
	order int
	// peer names the peer whose inbox the collection is, if it is one.
	peer  string
	flags intel.FlagSet
	// after is the date_added of the last object read.
	after time.Time
	// entries are the flags each indicator (by FlagSet id) puts in the
	// index; expires when those of an indicator with a valid_until end.
	entries map[string][]screen.IntelEntry
	expires map[string]time.Time
}

// addrFlag is one flag on an address and where it comes from.
type addrFlag struct {
	order int // the collection's
	ind   string
	flag  screen.IntelFlag
}

func newIntelView(n *Node) *intelView {
	return &intelView{n: n, cols: map[string]*colView{}, markings: map[string]*intel.MarkingDefinition{},
		byAddr: map[chain.Key][]addrFlag{}, addrs: map[chain.Key]chain.Address{}}
}

// intelTypes are the objects flags are read from.
var intelTypes = []string{intel.TypeIndicator, intel.TypeReport, intel.TypeMarkingDefinition}

// update reads what was added to each collection since the view last
// did, and returns the addresses whose flags changed. stale reports a
// deletion since the view was read, or collections ordered otherwise: it
// must be read again, and nothing was changed.
func (v *intelView) update(ctx context.Context) (changes []screen.IntelChange, stale bool, err error) {
	n := v.n
	del := n.tx.Deletions()
	if v.loaded && del != v.deletions {
		return nil, true, nil
	}
	cols, err := n.db.TAXIICollections(ctx)
	if err != nil {
		return nil, false, err
	}
	// Flags are kept ordered by collection: a collection that came in
	// before others reorders them, which the view does not follow.
	for i, c := range cols {
		if cv := v.cols[c.ID]; cv != nil && cv.order != i {
			return nil, true, nil
		}
	}
	now := n.now()
	changed := map[*colView][]string{}
	remark := false
	for i, c := range cols {
		cv := v.cols[c.ID]
		if cv == nil {
			cv = &colView{id: c.ID, entries: map[string][]screen.IntelEntry{}, expires: map[string]time.Time{}}
			if p, ok := strings.CutPrefix(c.ID, inboxPrefix); ok {
				cv.peer = p
			}
			v.cols[c.ID] = cv
		}
		cv.order = i
		objs, err := v.read(ctx, cv)
		if err != nil {
			return nil, false, err
		}
		for _, o := range objs {
			if m, ok := o.(*intel.MarkingDefinition); ok {
				if old := v.markings[m.ID]; old == nil || !slices.Equal(markingLevel(old), markingLevel(m)) {
					remark = true
				}
				v.markings[m.ID] = m
			}
		}
		if ids := cv.flags.Add(objs); len(ids) > 0 {
			changed[cv] = ids
		}
		for id, t := range cv.expires {
			if !now.Before(t) {
				changed[cv] = append(changed[cv], id)
			}
		}
	}
	v.deletions, v.loaded = del, true
	if remark {
		// A marking read anew may change the TLP of any indicator.
		for _, cv := range v.cols {
			changed[cv] = cv.flags.Indicators()
		}
	}
	touched := map[chain.Key]bool{}
	for cv, ids := range changed {
		if err := v.reflag(ctx, cv, ids, now, "", touched); err != nil {
			return nil, false, err
		}
	}
	return v.changes(touched), false, nil
}

// changes lists every flag of each address touched, as entries lists
// them: what ChangeIntel puts in place of the address's flags.
func (v *intelView) changes(touched map[chain.Key]bool) []screen.IntelChange {
	changes := make([]screen.IntelChange, 0, len(touched))
	for k := range touched {
		fs := v.byAddr[k]
		c := screen.IntelChange{Address: v.addrs[k], Flags: make([]screen.IntelFlag, len(fs))}
		for i, f := range fs {
			c.Flags[i] = f.flag
		}
		changes = append(changes, c)
		if len(fs) == 0 {
			delete(v.addrs, k)
		}
	}
	return changes
}

// markingLevel is what a marking definition says, for noticing a change.
func markingLevel(m *intel.MarkingDefinition) []intel.TLP {
	l, ok := intel.MarkingLevel(m)
	if !ok {
		return nil
	}
	return []intel.TLP{l}
}

// read returns the objects flags are read from that were added to a
// collection since the view last read it, decoded, and moves its cursor.
func (v *intelView) read(ctx context.Context, cv *colView) ([]intel.Object, error) {
	// Every object added up to the collection's last date_added now is
	// committed (the server stamps and stores under one lock): the view
	// is current through it once it has read them, whatever their type.
	through, err := v.n.db.TAXIILastAdded(ctx, cv.id)
	if err != nil {
		return nil, fmt.Errorf("load intel of %s: %w", cv.id, err)
	}
	defer func() {
		if through.After(cv.after) {
			cv.after = through
		}
	}()
	var raws []taxii.Object
	for {
		page, err := v.n.db.TAXIIObjects(ctx, cv.id, taxii.Filter{AddedAfter: cv.after, Versions: taxii.VersionFilter{Last: true}, Types: intelTypes}, 10_000)
		if err != nil {
			return nil, fmt.Errorf("load intel of %s: %w", cv.id, err)
		}
		raws = append(raws, page.Objects...)
		if len(page.Objects) > 0 {
			cv.after = page.Objects[len(page.Objects)-1].DateAdded
		}
		if !page.More || len(page.Objects) == 0 {
			return decodeIntel(raws), nil
		}
	}
}

// reflag recomputes the flags of a collection's indicators ids and puts
// them on their addresses, noting every address whose flags changed.
// owner, if set, is who flagged them all; else flagOwners says.
func (v *intelView) reflag(ctx context.Context, cv *colView, ids []string, now time.Time, owner string, touched map[chain.Key]bool) error {
	ids = uniqueStrings(ids)
	flags := make([][]intel.Flag, len(ids))
	var all []intel.Flag
	for i, id := range ids {
		flags[i] = cv.flags.Flags(id, now, v.markings)
		all = append(all, flags[i]...)
	}
	var owners map[string]string
	if owner != "" {
		owners = make(map[string]string, len(all))
		for _, f := range all {
			owners[f.Indicator] = owner
		}
	} else {
		var err error
		if owners, err = v.n.flagOwners(ctx, cv, all); err != nil {
			return err
		}
	}
	for i, id := range ids {
		for _, e := range cv.entries[id] {
			k := e.Address.Key()
			v.byAddr[k] = slices.DeleteFunc(v.byAddr[k], func(f addrFlag) bool { return f.order == cv.order && f.ind == id })
			if len(v.byAddr[k]) == 0 {
				delete(v.byAddr, k)
			}
			touched[k] = true
		}
		delete(cv.entries, id)
		delete(cv.expires, id)
		var entries []screen.IntelEntry
		for _, f := range flags[i] {
			addr, err := v.n.parser.Parse(f.Address, chain.ParseChain(f.Chain))
			if err != nil {
				v.n.log.Warn("intel: unusable wallet address", "collection", cv.id, "indicator", f.Indicator, "err", err)
				continue
			}
			marking := f.TLP.String()
			if !f.Marked {
				marking = "unmarked"
			}
			e := screen.IntelEntry{Address: addr, Flag: screen.IntelFlag{Partner: owners[f.Indicator], Report: f.Report, Indicator: f.Indicator,
				Marking: marking, Category: "intel", Risk: screen.High, Modified: f.Modified}}
			entries = append(entries, e)
			k := addr.Key()
			af := addrFlag{order: cv.order, ind: id, flag: e.Flag}
			list := v.byAddr[k]
			at, _ := slices.BinarySearchFunc(list, af, compareAddrFlags)
			v.byAddr[k] = slices.Insert(list, at, af)
			v.addrs[k] = addr
			touched[k] = true
		}
		if len(entries) > 0 {
			cv.entries[id] = entries
			if t, ok := cv.flags.Expires(id); ok {
				cv.expires[id] = t
			}
		}
	}
	return nil
}

// compareAddrFlags orders an address's flags as a whole reload lists
// them: by collection, then indicator.
func compareAddrFlags(a, b addrFlag) int {
	if a.order != b.order {
		return a.order - b.order
	}
	return strings.Compare(a.ind, b.ind)
}

// entries lists every flag of the view, for SetIntel.
func (v *intelView) entries() []screen.IntelEntry {
	var out []screen.IntelEntry
	for k, fs := range v.byAddr {
		for _, f := range fs {
			out = append(out, screen.IntelEntry{Address: v.addrs[k], Flag: f.flag})
		}
	}
	return out
}

func uniqueStrings(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// flagOwners names who flagged each indicator: the peer whose inbox holds
// it, else the object's owner (a partner that wrote into this node's
// collection), "this node" for its own.
func (n *Node) flagOwners(ctx context.Context, cv *colView, flags []intel.Flag) (map[string]string, error) {
	out := make(map[string]string, len(flags))
	if cv.peer != "" {
		for _, f := range flags {
			out[f.Indicator] = cv.peer
		}
		return out, nil
	}
	ids := make([]string, 0, len(flags))
	for _, f := range flags {
		ids = append(ids, f.Indicator)
	}
	own, err := n.db.TAXIIOwners(ctx, uniqueStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("owners of %s's indicators: %w", cv.id, err)
	}
	for _, f := range flags {
		// Owners are keyed by the lower-cased id: an indicator whose UUID
		// is in upper case is still its writer's, not the node's.
		o, ok := own[strings.ToLower(f.Indicator)]
		if !ok || o.Owner == taxii.LocalPartner || o.Owner == "" {
			out[f.Indicator] = ownFlags
		} else {
			out[f.Indicator] = o.Owner
		}
	}
	return out, nil
}

// pollers returns a poller per peer, each pulling the peer's collection
// into its inbox.
func (n *Node) pollers(ctx context.Context, every time.Duration) ([]*taxii.Poller, error) {
	peers, err := n.db.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var out []*taxii.Poller
	for _, p := range peers {
		inbox := inboxPrefix + p.Name
		if _, ok, err := n.db.TAXIICollection(ctx, inbox); err != nil {
			return nil, err
		} else if !ok {
			if err := n.db.PutTAXIICollection(ctx, taxii.Collection{ID: inbox, Title: "Received from " + p.Name}); err != nil {
				return nil, err
			}
		}
		hc, err := peerHTTPClient(p)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		pg := &pulledPage{n: n, peer: p.Name, inbox: inbox}
		poller, err := taxii.NewPoller(taxii.PollerConfig{
			Client:     peerClient(p, hc),
			Peer:       p.Name,
			Collection: p.Collection,
			Cursors:    n.db,
			Interval:   every,
			MinBackoff: every,
			Logger:     n.log,
			Handle:     pg.handle,
			Flush:      pg.flush,
		})
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		n.log.Info("polling peer", "peer", p.Name, "url", p.URL, "collection", p.Collection, "every", every.String())
		out = append(out, poller)
	}
	return out, nil
}

// peerClient is the TAXII client of a peer: its key as a bearer key, or
// as the password of HTTP Basic if the peer has a user name.
func peerClient(p pebble.Peer, hc *http.Client) *taxii.Client {
	c := taxii.NewClient(p.URL, p.APIRoot, p.Key, hc)
	if p.User != "" {
		c.UseBasicAuth(p.User)
	}
	return c
}

// peerHTTPClient trusts the peer's CA, if given, and presents this
// node's client certificate, if given, for mutual TLS.
func peerHTTPClient(p pebble.Peer) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates", p.CAFile)
		}
		cfg.RootCAs = pool
	}
	if p.CertFile != "" || p.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}, nil
}

// pulledPage gathers a page of a peer's objects as the poller hands
// its chunks over and, at the end of the page, flags and stores them.
// Only indicators, reports and marking definitions make flags: they are
// validated against STIX 2.1 as they arrive, flagged and stored first;
// the rest of the page (wallets, relationships, the identities and sets
// around them) is validated and stored after, off the path to the flag.
type pulledPage struct {
	n           *Node
	peer, inbox string
	// flags are the valid objects that make flags, decoded beside them.
	flags   []taxii.Object
	decoded []intel.Object
	// rest are the page's other objects, not yet validated.
	rest []taxii.Object
}

// makesFlags says whether objects of a type are read for flags
// (intelTypes).
func makesFlags(typ string) bool {
	return typ == intel.TypeIndicator || typ == intel.TypeReport || typ == intel.TypeMarkingDefinition
}

// handle validates a chunk's objects that make flags, keeping the valid
// ones decoded, and keeps the others for later.
func (p *pulledPage) handle(_ context.Context, objs []taxii.Object) error {
	var now []taxii.Object
	for _, o := range objs {
		if makesFlags(o.Type) {
			now = append(now, o)
		} else {
			p.rest = append(p.rest, o)
		}
	}
	valid, decoded := p.validate(now)
	p.flags = append(p.flags, valid...)
	p.decoded = append(p.decoded, decoded...)
	return nil
}

// validate decodes and validates objects on every core, returning the
// valid ones and their decoding; the others are logged.
func (p *pulledPage) validate(objs []taxii.Object) ([]taxii.Object, []intel.Object) {
	decoded := make([]intel.Object, len(objs))
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		obj, err := intel.DecodeObject(objs[i].Raw)
		if err == nil {
			err = intel.Validate(obj)
		}
		decoded[i], errs[i] = obj, err
	})
	valid := objs[:0:0]
	out := decoded[:0]
	for i, o := range objs {
		if errs[i] != nil {
			p.n.log.Warn("intel: rejected object from peer", "peer", p.peer, "id", o.ID, "err", errs[i])
			continue
		}
		valid = append(valid, o)
		out = append(out, decoded[i])
	}
	return valid, out
}

// flush takes the page gathered and, in the background, flags and
// stores its objects that make flags, then validates and stores the
// rest, while the poller fetches the next page; a page that failed is
// dropped (the poller asks for it again, as it does when the work
// fails).
func (p *pulledPage) flush(ctx context.Context, complete bool) (func() error, error) {
	flags, decoded, rest := p.flags, p.decoded, p.rest
	p.flags, p.decoded, p.rest = nil, nil, nil
	if !complete {
		return nil, nil
	}
	done := make(chan error, 1)
	go func() { done <- p.store(ctx, flags, decoded, rest) }()
	return func() error { return <-done }, nil
}

func (p *pulledPage) store(ctx context.Context, flags []taxii.Object, decoded []intel.Object, rest []taxii.Object) error {
	if len(flags) > 0 {
		if err := p.n.receive(ctx, p.peer, p.inbox, flags, decoded); err != nil {
			return err
		}
	}
	if rest, _ = p.validate(rest); len(rest) == 0 {
		return nil
	}
	return p.n.receive(ctx, p.peer, p.inbox, rest, nil)
}

// receive keeps a peer's valid objects (those making flags decoded
// beside them) in its inbox, owned by the peer (idempotently: by id and
// version); the server's ownership rules refuse what claims to be this
// node's or another's. What the server keeps is flagged in screening
// before it is stored (flagging): a large report shows in screening
// without waiting for its write. The poller's cursor moves past the
// objects only once they are stored, so that a crash in between loses
// nothing: they are pulled again.
func (n *Node) receive(ctx context.Context, peer, inbox string, objs []taxii.Object, decoded []intel.Object) error {
	var hooks taxii.AddHooks
	var f *flagging
	if decoded != nil {
		f = &flagging{n: n, collection: inbox, objs: decoded, after: n.intel.afterFlag}
		hooks = f.hooks(ctx)
	} else {
		// Nothing of the batch makes flags: a view current up to it is
		// current past it.
		hooks.Stored = func(prev time.Time, stored []taxii.Object) {
			n.intel.mu.Lock()
			v := n.intel.v
			n.intel.mu.Unlock()
			if v != nil {
				n.pulledStored(v, inbox, prev, stored)
			}
		}
	}
	st, err := n.tx.AddPulledFromHooks(ctx, inbox, peer, objs, hooks)
	if f != nil {
		f.done(ctx, err)
	}
	if err != nil {
		return err
	}
	if st.FailureCount > 0 {
		n.log.Warn("intel: peer objects not stored", "peer", peer, "failures", st.FailureCount, "first", st.Failures[0].Message)
	}
	return nil
}

// parallel calls f for 0..n-1 on every core, in contiguous runs.
func parallel(n int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 64 {
		workers = 1
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += max(chunk, 1) {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}

// PeerSpec is a partner node to pull from, as `intel peer add` gives it.
type PeerSpec struct {
	Name, URL, APIRoot, Collection string
	// Key is the API key the partner issued to this node; User, if set,
	// sends it as the password of HTTP Basic.
	Key, User string
	// CAFile, CertFile and KeyFile set up TLS: the partner's CA, and this
	// node's client certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
}

// AddPeer saves a partner node whose collection serve pulls. The TLS
// files are checked now rather than at the next serve.
func (n *Node) AddPeer(ctx context.Context, s PeerSpec) error {
	if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
		return inputErr(fmt.Errorf("peer URL %q: want http:// or https://", s.URL))
	}
	if s.Key == "" {
		return inputErr(fmt.Errorf("a peer needs the API key it issued to this node"))
	}
	if s.Collection == "" {
		return inputErr(fmt.Errorf("a peer needs the collection to pull"))
	}
	if s.APIRoot == "" {
		s.APIRoot = taxii.DefaultAPIRoot
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return inputErr(fmt.Errorf("a client certificate and its key go together"))
	}
	p := pebble.Peer{Name: s.Name, URL: strings.TrimRight(s.URL, "/"), APIRoot: s.APIRoot, Collection: s.Collection, Key: s.Key, User: s.User,
		CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile}
	if _, err := peerHTTPClient(p); err != nil {
		return inputErr(err)
	}
	if err := n.db.PutPeer(ctx, p); err != nil {
		return err
	}
	return n.record(ctx, "peer.add", s.Name, map[string]string{"url": p.URL, "collection": p.Collection})
}

// Peers lists the partner nodes (their keys included: callers must not
// show them).
func (n *Node) Peers(ctx context.Context) ([]pebble.Peer, error) { return n.db.Peers(ctx) }

// PutCollection creates or replaces a TAXII collection with its access
// lists, audited: who may read and write what the node shares.
func (n *Node) PutCollection(ctx context.Context, c taxii.Collection) error {
	if c.Title == "" {
		c.Title = c.ID
	}
	if err := c.Validate(); err != nil {
		return inputErr(err)
	}
	if strings.HasPrefix(c.ID, inboxPrefix) {
		return inputErr(fmt.Errorf("collection %q: the prefix %q is kept for what peers send", c.ID, inboxPrefix))
	}
	if err := n.db.PutTAXIICollection(ctx, c); err != nil {
		return err
	}
	return n.record(ctx, "collection.put", c.ID, map[string]string{"read": strings.Join(c.CanRead, ","), "write": strings.Join(c.CanWrite, ",")})
}

// Collections lists the node's TAXII collections.
func (n *Node) Collections(ctx context.Context) ([]taxii.Collection, error) {
	return n.db.TAXIICollections(ctx)
}

// SetIdentity names the organisation this node speaks for: partners'
// objects claiming to come from it are refused as forged.
func (n *Node) SetIdentity(ctx context.Context, name string) (*intel.Identity, error) {
	id := intel.IdentityFor(name)
	if err := n.db.PutNodeIdentity(ctx, id); err != nil {
		return nil, err
	}
	return id, n.record(ctx, "identity.set", id.ID, map[string]string{"name": name})
}

// noCollectionError names a collection the node does not have, and how
// to make it.
type noCollectionError struct{ id string }

func (e *noCollectionError) Error() string {
	return fmt.Sprintf("no collection %q: create it with `tracehound intel collection add`", e.id)
}

// checkCollection returns an input error if the node has no collection
// id.
func (n *Node) checkCollection(ctx context.Context, id string) error {
	_, ok, err := n.db.TAXIICollection(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return inputErr(&noCollectionError{id})
	}
	return nil
}

// indicatorFields are the properties of an indicator that flagging reads:
// decoding only these is several times cheaper than the whole object.
type indicatorFields struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Modified     intel.Timestamp `json:"modified"`
	Revoked      bool            `json:"revoked"`
	Labels       []string        `json:"labels"`
	Markings     []string        `json:"object_marking_refs"`
	CreatedByRef string          `json:"created_by_ref"`
	Pattern      string          `json:"pattern"`
	PatternType  string          `json:"pattern_type"`
	ValidUntil   intel.Timestamp `json:"valid_until"`
}

// decodeIntel decodes stored objects on every core, keeping their order;
// objects that do not decode are left out (they were validated when
// stored).
func decodeIntel(raws []taxii.Object) []intel.Object {
	out := make([]intel.Object, len(raws))
	parallel(len(raws), func(i int) {
		o := raws[i]
		if o.Type == intel.TypeIndicator {
			var f indicatorFields
			if json.Unmarshal(o.Raw, &f) == nil {
				out[i] = &intel.Indicator{Common: intel.Common{ID: f.ID, Type: f.Type, Modified: f.Modified, Revoked: f.Revoked, Labels: f.Labels,
					ObjectMarkingRefs: f.Markings, CreatedByRef: f.CreatedByRef}, Pattern: f.Pattern, PatternType: f.PatternType, ValidUntil: f.ValidUntil}
			}
			return
		}
		if obj, err := intel.DecodeObject(o.Raw); err == nil {
			out[i] = obj
		}
	})
	return slices.DeleteFunc(out, func(o intel.Object) bool { return o == nil })
}
