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
	cols, err := n.db.TAXIICollections(ctx)
	if err != nil {
		return err
	}
	objs := make(map[string][]intel.Object, len(cols))
	var markings []intel.Object
	for _, c := range cols {
		raws, err := n.latestIntel(ctx, c.ID)
		if err != nil {
			return err
		}
		os := decodeIntel(raws)
		for _, o := range os {
			if o.ObjectType() == intel.TypeMarkingDefinition {
				markings = append(markings, o)
			}
		}
		objs[c.ID] = os
	}
	var entries []screen.IntelEntry
	for _, c := range cols {
		flags := intel.WalletFlags(append(slices.Clip(markings), objs[c.ID]...), n.now())
		owners, err := n.flagOwners(ctx, c.ID, flags)
		if err != nil {
			return err
		}
		for _, f := range flags {
			addr, err := n.parser.Parse(f.Address, chain.ParseChain(f.Chain))
			if err != nil {
				n.log.Warn("intel: unusable wallet address", "collection", c.ID, "indicator", f.Indicator, "err", err)
				continue
			}
			marking := f.TLP.String()
			if !f.Marked {
				marking = "unmarked"
			}
			entries = append(entries, screen.IntelEntry{Address: addr, Flag: screen.IntelFlag{
				Partner: owners[f.Indicator], Report: f.Report, Indicator: f.Indicator, Marking: marking, Category: "intel", Risk: screen.High, Modified: f.Modified}})
		}
	}
	n.index.SetIntel(entries)
	n.log.Debug("intel loaded", "flags", len(entries), "elapsed", time.Since(start).String())
	return nil
}

// latestIntel reads the latest version of a collection's indicators,
// reports and marking definitions.
func (n *Node) latestIntel(ctx context.Context, collection string) ([]taxii.Object, error) {
	var raws []taxii.Object
	var after time.Time
	for {
		page, err := n.db.TAXIIObjects(ctx, collection, taxii.Filter{AddedAfter: after, Versions: taxii.VersionFilter{Last: true},
			Types: []string{intel.TypeIndicator, intel.TypeReport, intel.TypeMarkingDefinition}}, 10_000)
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

// flagOwners names who flagged each indicator: the peer whose inbox holds
// it, else the object's owner (a partner that wrote into this node's
// collection), "this node" for its own.
func (n *Node) flagOwners(ctx context.Context, collection string, flags []intel.Flag) (map[string]string, error) {
	out := make(map[string]string, len(flags))
	if p, ok := strings.CutPrefix(collection, inboxPrefix); ok {
		for _, f := range flags {
			out[f.Indicator] = p
		}
		return out, nil
	}
	ids := make([]string, 0, len(flags))
	for _, f := range flags {
		ids = append(ids, f.Indicator)
	}
	own, err := n.db.TAXIIOwners(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("owners of %s's indicators: %w", collection, err)
	}
	for _, f := range flags {
		// Owners are keyed by the lower-cased id: an indicator whose UUID
		// is in upper case is still its writer's, not the node's.
		o, ok := own[strings.ToLower(f.Indicator)]
		if !ok || o.Owner == taxii.LocalPartner || o.Owner == "" {
			out[f.Indicator] = "this node"
		} else {
			out[f.Indicator] = o.Owner
		}
	}
	return out, nil
}

// intelChanged asks for the intelligence layer to be rebuilt. Rebuilding
// reads every collection: requests coalesce, so that a partner's backlog
// of many pages costs a few rebuilds, not one a page.
func (n *Node) intelChanged() {
	select {
	case n.intelDirty <- struct{}{}:
	default:
	}
}

// reloadOnChange rebuilds the intelligence layer whenever objects were
// stored, until ctx ends.
func (n *Node) reloadOnChange(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.intelDirty:
		}
		n.mu.Lock()
		err := n.reloadIntel(ctx)
		n.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			n.log.Error("reload intel", "err", err)
		} else if err == nil {
			n.screeningChanged(ctx)
		}
	}
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
		poller, err := taxii.NewPoller(taxii.PollerConfig{
			Client:     peerClient(p, hc),
			Peer:       p.Name,
			Collection: p.Collection,
			Cursors:    n.db,
			Interval:   every,
			MinBackoff: every,
			Logger:     n.log,
			Handle: func(ctx context.Context, objs []taxii.Object) error {
				return n.receive(ctx, p.Name, inbox, objs)
			},
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

// receive validates a peer's objects against STIX 2.1 and keeps the
// valid ones in the peer's inbox, owned by the peer (idempotently: by id
// and version); the server's ownership rules refuse what claims to be
// this node's. The intelligence layer is rebuilt through OnChange.
func (n *Node) receive(ctx context.Context, peer, inbox string, objs []taxii.Object) error {
	raws := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		obj, err := intel.DecodeObject(o.Raw)
		if err == nil {
			err = intel.Validate(obj)
		}
		if err != nil {
			n.log.Warn("intel: rejected object from peer", "peer", peer, "id", o.ID, "err", err)
			continue
		}
		raws = append(raws, o.Raw)
	}
	if len(raws) == 0 {
		return nil
	}
	st, err := n.tx.AddObjectsFrom(ctx, inbox, peer, raws)
	if err != nil {
		return err
	}
	if st.FailureCount > 0 {
		n.log.Warn("intel: peer objects not stored", "peer", peer, "failures", st.FailureCount, "first", st.Failures[0].Message)
	}
	return nil
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
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(raws) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(raws); lo += max(chunk, 1) {
		hi := min(lo+chunk, len(raws))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				o := raws[i]
				if o.Type == intel.TypeIndicator {
					var f indicatorFields
					if json.Unmarshal(o.Raw, &f) == nil {
						out[i] = &intel.Indicator{Common: intel.Common{ID: f.ID, Type: f.Type, Modified: f.Modified, Revoked: f.Revoked, Labels: f.Labels,
							ObjectMarkingRefs: f.Markings, CreatedByRef: f.CreatedByRef}, Pattern: f.Pattern, PatternType: f.PatternType, ValidUntil: f.ValidUntil}
					}
					continue
				}
				if obj, err := intel.DecodeObject(o.Raw); err == nil {
					out[i] = obj
				}
			}
		})
	}
	wg.Wait()
	return slices.DeleteFunc(out, func(o intel.Object) bool { return o == nil })
}
