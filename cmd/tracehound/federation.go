package main

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

	"github.com/tracehound/tracehound/auth"
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

// newTAXII returns the node's TAXII server over its store; configure
// funcs adjust the configuration (serve's flags).
func (s *service) newTAXII(configure ...func(*taxii.Config)) *taxii.Server {
	cfg := taxii.Config{
		Store:   s.db,
		Policy:  taxii.TLPPolicy{Unmarked: intel.TLPAmber},
		Auditor: taxii.AuditLog(s.audit),
		Title:   "tracehound",
		Logger:  s.log,
		Accept: func(ctx context.Context, partner string, o taxii.Object) error {
			// The node itself, and its own analysts' keys, speak for it.
			if k := auth.KeyFrom(ctx); partner == taxii.LocalPartner || k != nil && k.Has(auth.RoleTAXIIPublish) {
				return nil
			}
			return s.notForged(ctx, partner, o.Raw)
		},
	}
	for _, f := range configure {
		f(&cfg)
	}
	return taxii.New(cfg)
}

// pruneStatuses deletes expired TAXII statuses now and then until ctx
// ends: adding objects prunes too, but a node nobody sends to must
// forget them as well.
func (s *service) pruneStatuses(ctx context.Context, tx *taxii.Server, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := tx.PruneStatuses(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("taxii: prune statuses", "err", err)
		} else if n > 0 {
			s.log.Debug("taxii: pruned statuses", "count", n)
		}
	}
}

// notForged refuses an object a partner sent that claims to be created by
// this node's own identity.
func (s *service) notForged(ctx context.Context, partner string, raw []byte) error {
	var c struct {
		CreatedByRef string `json:"created_by_ref"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.CreatedByRef == "" {
		return nil
	}
	me, ok, err := s.db.NodeIdentity(ctx)
	if err != nil || !ok {
		return err
	}
	if c.CreatedByRef == me.ID || c.ID == me.ID {
		return fmt.Errorf("forged: %s claims to come from this node (%s), but %s sent it", c.ID, me.Name, partner)
	}
	return nil
}

// reloadIntel rebuilds the screening index's intelligence layer from every
// collection the node holds: what it published itself and what its peers
// sent. Each flag says who flagged the address, in which report, under
// which TLP marking.
func (s *service) reloadIntel(ctx context.Context) error {
	start := time.Now()
	cols, err := s.db.TAXIICollections(ctx)
	if err != nil {
		return err
	}
	var entries []screen.IntelEntry
	for _, c := range cols {
		partner := "this node"
		if p, ok := strings.CutPrefix(c.ID, inboxPrefix); ok {
			partner = p
		}
		var raws []taxii.Object
		var after time.Time
		for {
			page, err := s.db.TAXIIObjects(ctx, c.ID, taxii.Filter{AddedAfter: after, Versions: taxii.VersionFilter{Last: true},
				Types: []string{intel.TypeIndicator, intel.TypeReport, intel.TypeMarkingDefinition}}, 10_000)
			if err != nil {
				return fmt.Errorf("load intel of %s: %w", c.ID, err)
			}
			raws = append(raws, page.Objects...)
			if len(page.Objects) > 0 {
				after = page.Objects[len(page.Objects)-1].DateAdded
			}
			if !page.More || len(page.Objects) == 0 {
				break
			}
		}
		objs := decodeIntel(raws)
		for _, f := range intel.WalletFlags(objs, time.Now()) {
			addr, err := s.parser.Parse(f.Address, chain.ParseChain(f.Chain))
			if err != nil {
				s.log.Warn("intel: unusable wallet address", "collection", c.ID, "indicator", f.Indicator, "err", err)
				continue
			}
			marking := f.TLP.String()
			if !f.Marked {
				marking = "unmarked"
			}
			entries = append(entries, screen.IntelEntry{Address: addr, Flag: screen.IntelFlag{
				Partner: partner, Report: f.Report, Indicator: f.Indicator, Marking: marking, Category: "intel", Risk: screen.High, Modified: f.Modified}})
		}
	}
	s.index.SetIntel(entries)
	s.log.Debug("intel loaded", "flags", len(entries), "elapsed", time.Since(start).String())
	return nil
}

// startPollers pulls every peer's collection into its inbox and reloads
// the intelligence layer as objects arrive, until ctx ends; wait returns
// once every poller has stopped.
func (s *service) startPollers(ctx context.Context, tx *taxii.Server, every time.Duration) (wait func(), err error) {
	var wg sync.WaitGroup
	peers, err := s.db.Peers(ctx)
	if err != nil {
		return wg.Wait, err
	}
	// Shared watches publish into the node's own collections too.
	wg.Go(func() { s.reloadOnChange(ctx) })
	for _, p := range peers {
		inbox := inboxPrefix + p.Name
		if _, ok, err := s.db.TAXIICollection(ctx, inbox); err != nil {
			return wg.Wait, err
		} else if !ok {
			if err := s.db.PutTAXIICollection(ctx, taxii.Collection{ID: inbox, Title: "Received from " + p.Name}); err != nil {
				return wg.Wait, err
			}
		}
		hc, err := peerHTTPClient(p)
		if err != nil {
			return wg.Wait, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		poller, err := taxii.NewPoller(taxii.PollerConfig{
			Client:     peerClient(p, hc),
			Peer:       p.Name,
			Collection: p.Collection,
			Cursors:    s.db,
			Interval:   every,
			MinBackoff: every,
			Logger:     s.log,
			Handle: func(ctx context.Context, objs []taxii.Object) error {
				return s.receive(ctx, tx, p.Name, inbox, objs)
			},
		})
		if err != nil {
			return wg.Wait, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		wg.Go(func() {
			if err := poller.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("poller stopped", "peer", p.Name, "err", err)
			}
		})
		s.log.Info("polling peer", "peer", p.Name, "url", p.URL, "collection", p.Collection, "every", every.String())
	}
	return wg.Wait, nil
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

// receive validates a peer's objects against STIX 2.1, keeps the valid
// ones in the peer's inbox (idempotently: by id and version) and reloads
// the intelligence layer.
func (s *service) receive(ctx context.Context, tx *taxii.Server, peer, inbox string, objs []taxii.Object) error {
	raws := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		obj, err := intel.DecodeObject(o.Raw)
		if err == nil {
			err = intel.Validate(obj)
		}
		if err == nil {
			err = s.notForged(ctx, peer, o.Raw)
		}
		if err != nil {
			s.log.Warn("intel: rejected object from peer", "peer", peer, "id", o.ID, "err", err)
			continue
		}
		raws = append(raws, o.Raw)
	}
	if len(raws) > 0 {
		st, err := tx.AddObjects(ctx, inbox, raws)
		if err != nil {
			return err
		}
		if st.FailureCount > 0 {
			s.log.Warn("intel: peer objects not stored", "peer", peer, "failures", st.FailureCount)
		}
	}
	s.intelChanged()
	return nil
}

// intelChanged asks for the intelligence layer to be rebuilt. Rebuilding
// reads every collection: requests coalesce, so that a partner's backlog
// of many pages costs a few rebuilds, not one a page.
func (s *service) intelChanged() {
	select {
	case s.intelDirty <- struct{}{}:
	default:
	}
}

// reloadOnChange rebuilds the intelligence layer whenever received
// objects were stored, until ctx ends.
func (s *service) reloadOnChange(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.intelDirty:
		}
		s.mu.Lock()
		err := s.reloadIntel(ctx)
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Error("reload intel", "err", err)
		}
	}
}

// peerFromFlags is the peer `intel peer add` saves.
func peerFromFlags(name, url, root, collection, key, ca, cert, certKey string) (pebble.Peer, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return pebble.Peer{}, usageError("peer URL %q: want http:// or https://", url)
	}
	if key == "" {
		return pebble.Peer{}, usageError("a peer needs the API key it issued to this node (--key or $TRACEHOUND_PEER_KEY)")
	}
	if root == "" {
		root = taxii.DefaultAPIRoot
	}
	if (cert == "") != (certKey == "") {
		return pebble.Peer{}, usageError("--cert and --cert-key go together")
	}
	p := pebble.Peer{Name: name, URL: strings.TrimRight(url, "/"), APIRoot: root, Collection: collection, Key: key, CAFile: ca, CertFile: cert, KeyFile: certKey}
	// Check the files now rather than at the next serve.
	if _, err := peerHTTPClient(p); err != nil {
		return pebble.Peer{}, err
	}
	return p, nil
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
