package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/trace"
)

// Publication is a report of addresses to publish in a collection.
type Publication struct {
	Collection  string
	Name        string
	Description string
	TLP         intel.TLP
	// Actor and Aliases name the intrusion set, Incident the incident.
	Actor    string
	Aliases  []string
	Incident string
	// Creator names the organisation; empty is the node's own identity.
	Creator string
	// Victim names the victim the intrusion set targeted.
	Victim    string
	Addresses []intel.Listed
}

// Objects makes the publication's STIX objects. The creator is the
// node's identity unless p names another organisation.
func (n *Node) Objects(ctx context.Context, p Publication) ([]json.RawMessage, error) {
	creator, err := n.creator(ctx, p)
	if err != nil {
		return nil, err
	}
	raws, _, err := p.objects(creator, n.now())
	return raws, err
}

// creator is the identity a publication is made by: the organisation
// it names, else the node's.
func (n *Node) creator(ctx context.Context, p Publication) (*intel.Identity, error) {
	if p.Creator != "" {
		return intel.IdentityFor(p.Creator), nil
	}
	me, ok, err := n.db.NodeIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, inputErr(errNoIdentity)
	}
	return me, nil
}

// RemoteObjects makes the publication's STIX objects for a node reached
// over TAXII, whose identity this process cannot read: p must name the
// creator.
func RemoteObjects(p Publication, now time.Time) ([]json.RawMessage, error) {
	if p.Creator == "" {
		return nil, inputErr(errors.New("name the creator: the publishing node's organisation"))
	}
	raws, _, err := p.objects(intel.IdentityFor(p.Creator), now)
	return raws, err
}

// objects makes the publication's STIX objects, as JSON and as made.
func (p Publication) objects(creator *intel.Identity, now time.Time) ([]json.RawMessage, []intel.Object, error) {
	if p.Collection == "" || p.Name == "" {
		return nil, nil, inputErr(errors.New("a publication needs a collection and a name"))
	}
	objs, err := intel.Publish(intel.Publication{Creator: creator, Name: p.Name, Description: p.Description,
		TLP: p.TLP, Actor: p.Actor, ActorAliases: p.Aliases, Incident: p.Incident, Victim: p.Victim, Addresses: p.Addresses, Now: now})
	if err != nil {
		return nil, nil, inputErr(err)
	}
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		if raws[i], err = json.Marshal(o); err != nil {
			return nil, nil, err
		}
	}
	return raws, objs, nil
}

// Publish stores a publication's objects in one of the node's
// collections, as the node: validated, held to the TLP policy, audited.
//
// The publication is flagged in the node's own screening as it is
// stored, from the objects as made, rather than read back after.
func (n *Node) Publish(ctx context.Context, p Publication) (taxii.Status, error) {
	creator, err := n.creator(ctx, p)
	if err != nil {
		return taxii.Status{}, err
	}
	raws, objs, err := p.objects(creator, n.now())
	if err != nil {
		return taxii.Status{}, err
	}
	if err := n.checkCollection(ctx, p.Collection); err != nil {
		return taxii.Status{}, err
	}
	// The server's checks make what it keeps the node's.
	f := &flagging{n: n, collection: p.Collection, owner: ownFlags, objs: objs}
	st, err := n.tx.AddObjectsHooks(ctx, p.Collection, raws, f.hooks(ctx))
	f.done(ctx, err)
	return st, err
}

// AddObjects adds STIX objects to one of the node's collections as the
// node itself.
func (n *Node) AddObjects(ctx context.Context, collection string, raws []json.RawMessage) (taxii.Status, error) {
	if err := n.checkCollection(ctx, collection); err != nil {
		return taxii.Status{}, err
	}
	return n.tx.AddObjects(ctx, collection, raws)
}

// ImportIntel stores a STIX 2.1 bundle's valid objects (OpenCTI, MISP's
// STIX export, any producer), or a MISP event export's wallets as a
// report marked by the event's tlp tag (unmarked for an event without
// one), in a collection. It returns the bundle's rejected objects and the
// store's status.
func (n *Node) ImportIntel(ctx context.Context, data []byte, collection string, unmarked intel.TLP) ([]intel.Rejection, taxii.Status, error) {
	if err := n.checkCollection(ctx, collection); err != nil {
		return nil, taxii.Status{}, err
	}
	var raws []json.RawMessage
	var rejected []intel.Rejection
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &probe); err == nil && probe.Type == "bundle" {
		good, bad, err := intel.ParseBundle(data, 100<<20)
		if err != nil {
			return nil, taxii.Status{}, inputErr(err)
		}
		rejected = bad
		for _, o := range good {
			raw, err := json.Marshal(o)
			if err != nil {
				return nil, taxii.Status{}, err
			}
			raws = append(raws, raw)
		}
	} else {
		events, err := intel.ImportMISP(data)
		if err != nil {
			return nil, taxii.Status{}, inputErr(fmt.Errorf("neither a STIX bundle nor a MISP event export: %w", err))
		}
		for _, ev := range events {
			tlp := unmarked
			if ev.Marked {
				tlp = ev.TLP
			}
			creator := ev.Creator
			if creator == "" {
				creator = "MISP"
			}
			now := ev.Date
			if now.IsZero() {
				now = n.now()
			}
			objs, err := intel.Publish(intel.Publication{Creator: intel.IdentityFor(creator), Name: ev.Name, TLP: tlp, Addresses: ev.Addresses, Now: now})
			if err != nil {
				return nil, taxii.Status{}, inputErr(fmt.Errorf("MISP event %s: %w", ev.UUID, err))
			}
			for _, o := range objs {
				raw, err := json.Marshal(o)
				if err != nil {
					return nil, taxii.Status{}, err
				}
				raws = append(raws, raw)
			}
		}
	}
	st, err := n.tx.AddObjects(ctx, collection, raws)
	return rejected, st, err
}

// TraceAddresses lists the addresses stolen funds passed through in a
// trace: every tainted address that is not a service (exchanges freeze;
// the thief's wallets are what partners block).
func TraceAddresses(r *trace.Result) ([]intel.Listed, error) {
	var out []intel.Listed
	for _, nd := range r.Nodes {
		if nd.Label != nil {
			continue
		}
		out = append(out, intel.Listed{Chain: string(r.Chain), Address: nd.Address, Role: intel.RoleLaundering,
			Note: fmt.Sprintf("hop %d of a %s trace; %s base units tainted", nd.Hop, r.Model, nd.Received)})
	}
	if len(out) == 0 {
		return nil, errors.New("the trace holds no laundering address")
	}
	return out, nil
}

// SanctionedAddresses lists the current sanctions list's addresses.
func (n *Node) SanctionedAddresses(ctx context.Context) ([]intel.Listed, error) {
	entries, err := n.db.CurrentSanctions(ctx)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("no sanctions list imported: run tracehound sanctions import first")
	}
	out := make([]intel.Listed, 0, len(entries))
	for _, e := range entries {
		out = append(out, intel.Listed{Chain: strings.ToLower(e.Asset), Address: e.Address, Role: intel.RoleSanctioned, Note: e.Source + ": " + e.Party.Name})
	}
	return out, nil
}
