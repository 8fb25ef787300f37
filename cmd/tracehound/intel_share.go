package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/trace"
)

func addSharingCmds(a *app, cmd *cobra.Command) {
	col := &cobra.Command{Use: "collection", Short: "TAXII collections this node serves, and who may read and write them"}
	var title, desc string
	var readers, writers []string
	colAdd := &cobra.Command{
		Use:   "add ID",
		Short: "Create or replace a collection; --read and --write name partners (API key names), * for every partner",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				c := taxii.Collection{ID: args[0], Title: title, Description: desc, CanRead: readers, CanWrite: writers}
				if c.Title == "" {
					c.Title = c.ID
				}
				if err := c.Validate(); err != nil {
					return usageError("%v", err)
				}
				return db.PutTAXIICollection(ctx, c)
			})
		},
	}
	colAdd.Flags().StringVar(&title, "title", "", "title shown to partners")
	colAdd.Flags().StringVar(&desc, "description", "", "description shown to partners")
	colAdd.Flags().StringSliceVar(&readers, "read", nil, "partners that may read (TLP:AMBER goes only to partners named here)")
	colAdd.Flags().StringSliceVar(&writers, "write", nil, "partners that may add objects")
	colList := &cobra.Command{
		Use:   "list",
		Short: "List collections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				cs, err := db.TAXIICollections(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTITLE\tREAD\tWRITE")
				for _, c := range cs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Title, strings.Join(c.CanRead, ","), strings.Join(c.CanWrite, ","))
				}
				return tw.Flush()
			})
		},
	}
	col.AddCommand(colAdd, colList)

	var p publishFlags
	publish := &cobra.Command{
		Use:   "publish [FILE]",
		Short: "Publish the addresses in a CSV file (address, and optional chain and role columns) as a STIX report in a collection",
		Long: `Publish turns a list of addresses into a STIX 2.1 report: this node's
identity, the TLP marking, an intrusion set and an incident if named, and
one wallet observable and indicator per address. Without --server the
objects go into the store in --data; with --server they are posted over
TAXII to a running node (key with taxii:write in $TRACEHOUND_API_KEY).`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) != (p.from == "sanctions") {
				return usageError("give FILE, except with --from sanctions")
			}
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return a.publish(cmd.Context(), p, path)
		},
	}
	publish.Flags().StringVar(&p.collection, "collection", "", "collection to publish into (required)")
	publish.Flags().StringVar(&p.tlp, "tlp", "amber", "TLP marking: clear, green, amber, amber+strict or red")
	publish.Flags().StringVar(&p.name, "name", "", "report name (required)")
	publish.Flags().StringVar(&p.description, "description", "", "report description")
	publish.Flags().StringVar(&p.actor, "actor", "", "intrusion set the addresses are attributed to, e.g. \"Lazarus Group\"")
	publish.Flags().StringSliceVar(&p.aliases, "alias", nil, "the intrusion set's aliases")
	publish.Flags().StringVar(&p.incident, "incident", "", "incident the report is about")
	publish.Flags().StringVar(&p.creator, "creator", "", "this node's organisation, named as the creator (required)")
	publish.Flags().StringVar(&p.server, "server", "", "publish through a running node's TAXII API at this URL")
	publish.Flags().StringVar(&p.from, "from", "csv", "what to publish: csv (FILE of addresses), trace (FILE is the JSON of tracehound trace --json: its laundering addresses, not the services) or sanctions (the imported sanctions list's addresses)")

	peer := &cobra.Command{Use: "peer", Short: "Partner nodes whose collections this node pulls"}
	var root, collection, key, user, ca, cert, certKey string
	peerAdd := &cobra.Command{
		Use:   "add NAME URL",
		Short: "Subscribe to a partner's collection; `serve` pulls it and flags its wallet indicators at once",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if collection == "" {
				return usageError("--collection is required")
			}
			if key == "" {
				key = os.Getenv("TRACEHOUND_PEER_KEY")
			}
			pr, err := peerFromFlags(args[0], args[1], root, collection, key, absPath(ca), absPath(cert), absPath(certKey))
			if err != nil {
				return err
			}
			pr.User = user
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				return db.PutPeer(ctx, pr)
			})
		},
	}
	peerAdd.Flags().StringVar(&root, "api-root", taxii.DefaultAPIRoot, "the partner's TAXII API root")
	peerAdd.Flags().StringVar(&collection, "collection", "", "the partner's collection id")
	peerAdd.Flags().StringVar(&key, "key", "", "the API key the partner issued to this node (default $TRACEHOUND_PEER_KEY)")
	peerAdd.Flags().StringVar(&user, "user", "", "send the key as the password of HTTP Basic with this user name (for a tracehound partner, the name its key was created with), rather than as a bearer key")
	peerAdd.Flags().StringVar(&ca, "ca", "", "PEM file of the CA to trust for the partner's server certificate")
	peerAdd.Flags().StringVar(&cert, "cert", "", "PEM client certificate, for a partner requiring mutual TLS")
	peerAdd.Flags().StringVar(&certKey, "cert-key", "", "PEM key of the client certificate")
	peerList := &cobra.Command{
		Use:   "list",
		Short: "List partner nodes (never their keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				ps, err := db.Peers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tURL\tAPI ROOT\tCOLLECTION")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.URL, p.APIRoot, p.Collection)
				}
				return tw.Flush()
			})
		},
	}
	peer.AddCommand(peerAdd, peerList)
	var impCollection, impTLP string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a STIX 2.1 bundle (OpenCTI, MISP's STIX export, any producer) or a MISP event export into a collection",
		Long: `import validates a STIX 2.1 bundle object by object (the good objects are
kept, each bad one is reported with the rule it breaks) or turns a MISP
event export's wallet addresses (cryptocurrency attributes and
coin-address objects) into a STIX report marked by the event's tlp tag.
The objects go into a collection of the store in --data, where screening
flags their wallets.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importIntel(cmd.Context(), args[0], impCollection, impTLP)
		},
	}
	imp.Flags().StringVar(&impCollection, "collection", "", "collection to import into (required)")
	imp.Flags().StringVar(&impTLP, "tlp", "amber", "marking for a MISP event without a tlp tag")
	identity := &cobra.Command{
		Use:   "identity NAME",
		Short: "Name the organisation this node speaks for: partners' objects claiming to come from it are refused as forged",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				id := intel.IdentityFor(args[0])
				if err := db.PutNodeIdentity(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "this node speaks for %s (%s)\n", id.Name, id.ID)
				return nil
			})
		},
	}
	cmd.AddCommand(col, publish, peer, imp, identity)
}

// importIntel stores a STIX bundle's valid objects, or a MISP event's
// wallets as a report, in a collection.
func (a *app) importIntel(ctx context.Context, path, collection, unmarked string) error {
	if collection == "" {
		return usageError("--collection is required")
	}
	def, err := intel.ParseTLP(unmarked)
	if err != nil {
		return usageError("--tlp: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var raws []json.RawMessage
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &probe); err == nil && probe.Type == "bundle" {
		good, rejected, err := intel.ParseBundle(data, 100<<20)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range rejected {
			fmt.Fprintf(a.stdout, "  rejected objects[%d] %s: %v\n", r.Index, r.ID, r.Err)
		}
		for _, o := range good {
			raw, err := json.Marshal(o)
			if err != nil {
				return err
			}
			raws = append(raws, raw)
		}
	} else {
		events, err := intel.ImportMISP(data)
		if err != nil {
			return fmt.Errorf("%s: neither a STIX bundle nor a MISP event export: %w", path, err)
		}
		for _, ev := range events {
			tlp := def
			if ev.Marked {
				tlp = ev.TLP
			}
			creator := ev.Creator
			if creator == "" {
				creator = "MISP"
			}
			now := ev.Date
			if now.IsZero() {
				now = time.Now()
			}
			objs, err := intel.Publish(intel.Publication{Creator: intel.IdentityFor(creator), Name: ev.Name, TLP: tlp, Addresses: ev.Addresses, Now: now})
			if err != nil {
				return fmt.Errorf("MISP event %s: %w", ev.UUID, err)
			}
			for _, o := range objs {
				raw, err := json.Marshal(o)
				if err != nil {
					return err
				}
				raws = append(raws, raw)
			}
		}
	}
	st, err := a.addObjects(ctx, collection, raws)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: %d objects stored in %s, %d failed\n", path, st.SuccessCount, collection, st.FailureCount)
	for _, f := range st.Failures {
		fmt.Fprintf(a.stdout, "  failed %s: %s\n", f.ID, f.Message)
	}
	return nil
}

// addObjects adds STIX objects to one of the collections in --data as
// the TAXII server would: validated, held to the TLP policy, audited.
func (a *app) addObjects(ctx context.Context, collection string, raws []json.RawMessage) (taxii.Status, error) {
	var st taxii.Status
	err := a.withStore(ctx, func(db *pebble.DB) error {
		if err := checkCollection(ctx, db, collection); err != nil {
			return err
		}
		svc := &service{db: db, log: a.log, audit: audit.New(db)}
		var err error
		st, err = svc.newTAXII().AddObjects(ctx, collection, raws)
		return err
	})
	return st, err
}

// noCollectionError names a collection the node does not have, and how
// to make it.
type noCollectionError struct{ id string }

func (e *noCollectionError) Error() string {
	return fmt.Sprintf("no collection %q: create it with `tracehound intel collection add`", e.id)
}

// checkCollection returns a *noCollectionError if the store has no
// collection id.
func checkCollection(ctx context.Context, db *pebble.DB, id string) error {
	_, ok, err := db.TAXIICollection(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return &noCollectionError{id}
	}
	return nil
}

// absPath makes a file flag absolute, since serve may run elsewhere.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

type publishFlags struct {
	collection, tlp, name, description, actor, incident, creator, server, from string
	aliases                                                                    []string
}

// readListed reads addresses from a CSV with an "address" column and
// optional "chain" and "role" columns, or one address a line.
func readListed(path string) ([]intel.Listed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ai, ok := col["address"]
	var out []intel.Listed
	if !ok {
		ai = 0
		out = append(out, intel.Listed{Address: strings.TrimSpace(head[0])})
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ai < len(row) && strings.TrimSpace(row[ai]) != "" {
			out = append(out, intel.Listed{Address: strings.TrimSpace(row[ai]), Chain: get(row, "chain"), Role: get(row, "role")})
		}
	}
}

// readTraceAddresses reads a trace's JSON result and lists the addresses
// the stolen funds passed through: every tainted address that is not a
// service (exchanges freeze; the thief's wallets are what partners block).
func readTraceAddresses(path string) ([]intel.Listed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r trace.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a trace result: %w", path, err)
	}
	var out []intel.Listed
	for _, n := range r.Nodes {
		if n.Label != nil {
			continue
		}
		out = append(out, intel.Listed{Chain: string(r.Chain), Address: n.Address, Role: fmt.Sprintf("hop %d of a %s trace; %s base units tainted", n.Hop, r.Model, n.Received)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: the trace holds no laundering address", path)
	}
	return out, nil
}

// sanctionedAddresses lists the current sanctions list's addresses, from
// the store in --data.
func (a *app) sanctionedAddresses(ctx context.Context, remote bool) ([]intel.Listed, error) {
	db, err := a.openStore(ctx)
	if err != nil {
		if remote {
			return nil, fmt.Errorf("%w (with --server, run publish --from sanctions where the serving node's store is not open, or publish locally)", err)
		}
		return nil, err
	}
	defer db.Close()
	entries, err := db.CurrentSanctions(ctx)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("no sanctions list imported: run tracehound sanctions import first")
	}
	out := make([]intel.Listed, 0, len(entries))
	for _, e := range entries {
		out = append(out, intel.Listed{Chain: strings.ToLower(e.Asset), Address: e.Address, Role: e.Source + ": " + e.Party.Name})
	}
	return out, nil
}

func (a *app) publish(ctx context.Context, p publishFlags, path string) error {
	if p.collection == "" || p.name == "" || p.creator == "" {
		return usageError("--collection, --name and --creator are required")
	}
	tlp, err := intel.ParseTLP(p.tlp)
	if err != nil {
		return usageError("--tlp: %v", err)
	}
	var listed []intel.Listed
	switch p.from {
	case "", "csv":
		listed, err = readListed(path)
	case "trace":
		listed, err = readTraceAddresses(path)
	case "sanctions":
		listed, err = a.sanctionedAddresses(ctx, p.server != "")
	default:
		return usageError("--from %q: want csv, trace or sanctions", p.from)
	}
	if err != nil {
		return err
	}
	objs, err := intel.Publish(intel.Publication{Creator: intel.IdentityFor(p.creator), Name: p.name, Description: p.description,
		TLP: tlp, Actor: p.actor, ActorAliases: p.aliases, Incident: p.incident, Addresses: listed, Now: time.Now()})
	if err != nil {
		return err
	}
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		if raws[i], err = json.Marshal(o); err != nil {
			return err
		}
	}
	var st taxii.Status
	if p.server != "" {
		c := taxii.NewClient(p.server, taxii.DefaultAPIRoot, os.Getenv("TRACEHOUND_API_KEY"), nil)
		st, err = c.Add(ctx, p.collection, raws)
	} else {
		st, err = a.addObjects(ctx, p.collection, raws)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "published %q (%s) in %s: %d addresses, %d objects stored, %d failed\n", p.name, tlp, p.collection, len(listed), st.SuccessCount, st.FailureCount)
	for _, f := range st.Failures {
		fmt.Fprintf(a.stdout, "  failed %s: %s\n", f.ID, f.Message)
	}
	return nil
}
