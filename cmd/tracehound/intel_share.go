package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				return n.PutCollection(ctx, taxii.Collection{ID: args[0], Title: title, Description: desc, CanRead: readers, CanWrite: writers})
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				cs, err := n.Collections(ctx)
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
	publish.Flags().StringVar(&p.creator, "creator", "", "the organisation named as the creator (default: this node's identity; required with --server)")
	publish.Flags().StringVar(&p.server, "server", "", "publish through a running node's TAXII API at this URL")
	publish.Flags().StringVar(&p.role, "role", "", "role of every address of a file without a role column: thief, laundering, sanctioned, victim or service (only thieves', laundering and sanctioned wallets become indicators)")
	publish.Flags().StringVar(&p.victim, "victim", "", "the victim the intrusion set targeted, named in the report")
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
			if key == "" {
				return usageError("a peer needs the API key it issued to this node (--key or $TRACEHOUND_PEER_KEY)")
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				return n.AddPeer(ctx, node.PeerSpec{Name: args[0], URL: args[1], APIRoot: root, Collection: collection, Key: key, User: user,
					CAFile: absPath(ca), CertFile: absPath(cert), KeyFile: absPath(certKey)})
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				ps, err := n.Peers(ctx)
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				id, err := n.SetIdentity(ctx, args[0])
				if err != nil {
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
	return a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		rejected, st, err := n.ImportIntel(ctx, data, collection, def)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range rejected {
			fmt.Fprintf(a.stdout, "  rejected objects[%d] %s: %v\n", r.Index, r.ID, r.Err)
		}
		fmt.Fprintf(a.stdout, "%s: %d objects stored in %s, %d failed\n", path, st.SuccessCount, collection, st.FailureCount)
		return a.failures(st)
	})
}

// failures summarises the objects a status refused: counts per reason
// and the first few of each, and an error (exit status 1) if any was.
func (a *app) failures(st taxii.Status) error {
	if st.FailureCount == 0 {
		return nil
	}
	for _, r := range st.Refusals(3) {
		fmt.Fprintf(a.stdout, "  %d refused: %s (e.g. %s)\n", r.Count, r.Reason, strings.Join(r.Examples, ", "))
	}
	if listed := len(st.Failures); listed < st.FailureCount {
		fmt.Fprintf(a.stdout, "  (%d failures listed of %d)\n", listed, st.FailureCount)
	}
	return fmt.Errorf("%d of %d objects were refused", st.FailureCount, st.TotalCount)
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
	collection, tlp, name, description, actor, incident, creator, server, from, role, victim string
	aliases                                                                                  []string
}

func (a *app) publish(ctx context.Context, p publishFlags, path string) error {
	if p.collection == "" || p.name == "" {
		return usageError("--collection and --name are required")
	}
	tlp, err := intel.ParseTLP(p.tlp)
	if err != nil {
		return usageError("--tlp: %v", err)
	}
	pub := node.Publication{Collection: p.collection, Name: p.name, Description: p.description, TLP: tlp, Actor: p.actor,
		Aliases: p.aliases, Incident: p.incident, Creator: p.creator, Victim: p.victim}
	switch p.from {
	case "", "csv":
		pub.Addresses, err = readListed(path, p.role)
	case "trace":
		pub.Addresses, err = readTraceAddresses(path)
	case "sanctions":
		if p.server != "" {
			return usageError("--from sanctions publishes the local store's list: run it without --server where the store is not open")
		}
	default:
		return usageError("--from %q: want csv, trace or sanctions", p.from)
	}
	if err != nil {
		return err
	}
	if p.server != "" {
		raws, err := node.RemoteObjects(pub, time.Now())
		if err != nil {
			return usage(err)
		}
		key := os.Getenv(apiKeyEnv)
		if key == "" {
			return usageError("--server needs an API key in $%s", apiKeyEnv)
		}
		c := taxii.NewClient(p.server, taxii.DefaultAPIRoot, key, nil)
		st, err := c.Add(ctx, p.collection, raws)
		if err != nil {
			return err
		}
		return a.published(pub, st)
	}
	return a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		if p.from == "sanctions" {
			if pub.Addresses, err = n.SanctionedAddresses(ctx); err != nil {
				return err
			}
		}
		st, err := n.Publish(ctx, pub)
		if err != nil {
			return err
		}
		return a.published(pub, st)
	})
}

func (a *app) published(p node.Publication, st taxii.Status) error {
	fmt.Fprintf(a.stdout, "published %q (%s) in %s: %d addresses, %d objects stored, %d failed\n", p.Name, p.TLP, p.Collection, len(p.Addresses), st.SuccessCount, st.FailureCount)
	return a.failures(st)
}

// readTraceAddresses reads a trace's JSON result (tracehound trace
// --json) and lists the laundering addresses the funds passed through.
func readTraceAddresses(path string) ([]intel.Listed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r trace.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a trace result: %w", path, err)
	}
	out, err := node.TraceAddresses(&r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// readListed reads the addresses of a publication file (intel.ReadListed's
// layout); role is the role of every address of a file without a role
// column.
func readListed(path, role string) ([]intel.Listed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return intel.ReadListed(f, path, intel.Role(role))
}
