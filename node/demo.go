package node

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/taxii"
)

// Demo is what LoadDemo loaded: the simulated theft to trace and the
// demo's API key.
type Demo struct {
	TheftTx string
	// Thief is the address the simulated theft paid.
	Thief string
	// Key is the demo's API key secret, also kept in KeyFile.
	Key, KeyFile string
}

// LoadDemo imports the real data set in shared (the OFAC SDN list
// versions, the GraphSense and Etherscan attribution tags, the first
// 14,132 Bitcoin blocks, the Bybit incident's attacker addresses as
// stolen funds), adds a simulated Bybit-style theft on Ethereum
// (marked as simulated, with its ground truth beside the store) and makes
// an API key, writing what it does to out. Data already imported is not
// imported again unless reload.
func (n *Node) LoadDemo(ctx context.Context, shared string, reload bool, out io.Writer) (Demo, error) {
	if _, err := n.Index(ctx); err != nil {
		return Demo{}, err
	}
	fmt.Fprintf(out, "tracehound demo: store %s, data from %s\n", n.Dir(), shared)
	if err := n.demoSanctions(ctx, shared, reload, out); err != nil {
		return Demo{}, err
	}
	if err := n.demoTags(ctx, shared, reload, out); err != nil {
		return Demo{}, err
	}
	if err := n.demoBlocks(ctx, shared, out); err != nil {
		return Demo{}, err
	}
	truth, err := n.demoSimulation(ctx, shared, out)
	if err != nil {
		return Demo{}, err
	}
	d := Demo{KeyFile: filepath.Join(n.Dir(), "demo-api-key")}
	if truth != nil {
		d.TheftTx, d.Thief = truth.TheftTx, truth.Thief
	}
	if d.Key, err = n.demoKey(ctx, d.KeyFile); err != nil {
		return Demo{}, err
	}
	if err := n.demoSharing(ctx, out); err != nil {
		return Demo{}, err
	}
	return d, nil
}

// DemoCollection is the TAXII collection the demo shares into: every
// partner may read it (TLP:AMBER only the demo's key, named), the demo's
// key may write it.
const DemoCollection = "demo-shared"

// demoSharing gives the node an identity and a collection to publish
// into on first run, so that intel publish, case publish and watches
// with --share work on the demo as they would on a configured node.
func (n *Node) demoSharing(ctx context.Context, out io.Writer) error {
	if _, ok, err := n.db.NodeIdentity(ctx); err != nil {
		return err
	} else if !ok {
		id, err := n.SetIdentity(ctx, "tracehound demo")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  sharing: the node publishes as %q (%s)\n", id.Name, id.ID)
	}
	cs, err := n.Collections(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(cs, func(c taxii.Collection) bool { return c.ID == DemoCollection }) {
		return nil
	}
	if err := n.PutCollection(ctx, taxii.Collection{ID: DemoCollection, Title: "Demo: shared with partners",
		CanRead: []string{"demo", taxii.Everyone}, CanWrite: []string{"demo"}}); err != nil {
		return err
	}
	fmt.Fprintf(out, "  sharing: collection %s (read: every partner; write: the demo key)\n", DemoCollection)
	return nil
}

// FindSharedData looks for shared/data beside the working directory or
// one of its parents, where the repository's checkout keeps it
// ($TRACEHOUND_SHARED_DATA overrides).
func FindSharedData() (string, error) {
	if d := os.Getenv("TRACEHOUND_SHARED_DATA"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, c := range []string{filepath.Join(dir, "..", "shared", "data"), filepath.Join(dir, "shared", "data")} {
			if st, err := os.Stat(filepath.Join(c, "ofac")); err == nil && st.IsDir() {
				return filepath.Clean(c), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no shared data directory (with ofac/ and tags/) found beside the working directory or its parents; pass --shared-data DIR")
		}
		dir = parent
	}
}

func (n *Node) demoSanctions(ctx context.Context, shared string, reload bool, out io.Writer) error {
	versions, err := sanctions.Versions(ctx, n.db)
	if err != nil {
		return err
	}
	if len(versions) > 0 && !reload {
		fmt.Fprintf(out, "  sanctions: %d list versions already stored\n", len(versions))
		return nil
	}
	files, err := filepath.Glob(filepath.Join(shared, "ofac", "sdn_advanced-*.xml*"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OFAC SDN advanced XML (sdn_advanced-*.xml*) in %s", filepath.Join(shared, "ofac"))
	}
	// The file names carry the list date, so name order is date order and
	// each version's additions and removals come out right.
	sort.Strings(files)
	for _, f := range files {
		t := time.Now()
		res, err := n.ImportSanctions(ctx, SanctionsImport{Path: f})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  sanctions: %s imported in %s: %s\n", filepath.Base(f), time.Since(t).Round(time.Millisecond), res)
	}
	return nil
}

func (n *Node) demoTags(ctx context.Context, shared string, reload bool, out io.Writer) error {
	if st := n.index.Stats(); st.Tags > 0 && !reload {
		fmt.Fprintf(out, "  tags: %d tags on %d addresses already stored\n", st.Tags, st.TaggedAddresses)
	} else {
		for _, p := range []string{filepath.Join(shared, "tags", "graphsense-tagpacks"), filepath.Join(shared, "tags", "etherscan-labels")} {
			if _, err := os.Stat(p); err != nil {
				n.log.Warn("attribution source missing, skipped", "path", p)
				continue
			}
			t := time.Now()
			rep, err := n.ImportTagsPath(ctx, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  tags: %s imported in %s: %s\n", filepath.Base(p), time.Since(t).Round(time.Millisecond), rep)
		}
	}
	incident := filepath.Join(shared, "incidents", "bybit-2025-addresses.csv")
	rows, err := readIncident(incident)
	if errors.Is(err, fs.ErrNotExist) {
		n.log.Warn("incident file missing, skipped", "path", incident)
		return nil
	}
	if err != nil {
		return err
	}
	// A store made before the incident's tags were part of the demo gets
	// them too: they are looked for on the direct-theft address.
	if !reload {
		if _, thief, err := incidentParties(incident, rows); err == nil {
			if a, err := n.parser.Parse(thief, chain.Ethereum); err == nil {
				for _, at := range n.index.Lookup(a).Attributions {
					if at.Pack == filepath.Base(incident) {
						return nil
					}
				}
			}
		}
	}
	return n.demoIncidentTags(ctx, incident, rows, out)
}

// demoBlocks ingests the real early mainnet block file, so that address
// and trace have a real chain to walk.
func (n *Node) demoBlocks(ctx context.Context, shared string, out io.Writer) error {
	file := filepath.Join(shared, "btc", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err != nil {
		fmt.Fprintf(out, "  bitcoin: no %s; skipped\n", file)
		return nil
	}
	src, err := blkfile.OpenFiles(file, &chaincfg.MainNetParams)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := n.Ingest(ctx, Ingest{Chain: chain.Bitcoin, Stream: src})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  bitcoin: %d blocks (%d transfers) of %s ingested in %s; tip %d\n", st.Blocks, st.Transfers, filepath.Base(file), st.Elapsed.Round(time.Millisecond), st.Height)
	return nil
}

// demoSimulation writes a simulated Bybit-style theft on Ethereum (split
// wallets, peel chains, a mixer, a bridge, a DEX swap, deposits at
// exchanges, among ordinary traffic) on first run, so that a trace can be
// tried end to end. The theft leaves the real victim's cold wallet for the
// real exploiter's address, read from the incident file, so that what the
// demo traces is named as investigators name it.
func (n *Node) demoSimulation(ctx context.Context, shared string, out io.Writer) (*sim.Truth, error) {
	truthPath := filepath.Join(n.Dir(), "demo-simulation.json")
	if _, ok, err := n.db.Graph().Tip(ctx, chain.Ethereum); err != nil {
		return nil, err
	} else if ok {
		var truth sim.Truth
		b, err := os.ReadFile(truthPath)
		if err != nil || json.Unmarshal(b, &truth) != nil {
			fmt.Fprintf(out, "  ethereum: the store holds Ethereum data; no simulation added\n")
			return nil, nil
		}
		fmt.Fprintf(out, "  ethereum: simulated theft already stored (tx %s)\n", truth.TheftTx)
		return &truth, nil
	}
	s := Simulation{Seed: 1, Background: 100_000, TruthPath: truthPath}
	incident := filepath.Join(shared, "incidents", "bybit-2025-addresses.csv")
	rows, err := readIncident(incident)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(out, "  ethereum: no %s; the simulated theft's addresses are made up\n", incident)
	case err != nil:
		return nil, err
	default:
		if s.Victim, s.Thief, err = incidentParties(incident, rows); err != nil {
			return nil, err
		}
	}
	truth, st, err := n.Simulate(ctx, s)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  ethereum: simulated theft of %s wei from %s to %s laundered among %d transfers in %s (SIMULATED data; ground truth in %s)\n",
		truth.Theft, truth.Victim, truth.Thief, st.Transfers, st.Elapsed.Round(time.Millisecond), truthPath)
	return truth, nil
}

// incidentRow is one address of an incident file (incident, chain,
// address, role, amount, moved_on).
type incidentRow struct {
	line                  int
	incident, chain, addr string
	role                  string
}

// readIncident reads an incident's address file.
func readIncident(path string) ([]incidentRow, error) {
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
	col := func(name string) int { return slices.Index(head, name) }
	incCol, chainCol, addrCol, roleCol := col("incident"), col("chain"), col("address"), col("role")
	if incCol < 0 || chainCol < 0 || addrCol < 0 || roleCol < 0 {
		return nil, fmt.Errorf("%s: header %q lacks incident, chain, address or role", path, strings.Join(head, ","))
	}
	var rows []incidentRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) <= max(incCol, chainCol, addrCol, roleCol) {
			return nil, fmt.Errorf("%s:%d: %d fields, want at least %d", path, line, len(rec), max(incCol, chainCol, addrCol, roleCol)+1)
		}
		rows = append(rows, incidentRow{line: line, incident: rec[incCol], chain: rec[chainCol], addr: rec[addrCol], role: rec[roleCol]})
	}
}

// incidentParties finds an incident's victim cold wallet and the address
// the theft went to.
func incidentParties(path string, rows []incidentRow) (victim, thief string, err error) {
	for _, r := range rows {
		switch {
		case strings.HasPrefix(r.role, "victim cold wallet"):
			victim = r.addr
		case strings.HasPrefix(r.role, "attacker direct theft"):
			thief = r.addr
		}
	}
	if victim == "" || thief == "" {
		return "", "", fmt.Errorf("%s: no victim cold wallet or attacker direct theft row", path)
	}
	return victim, thief, nil
}

// incidentTags attributes an incident's attacker addresses (the exploit
// contracts, the direct-theft address, the wallets the loot was split
// into) to the attacker as stolen funds (category hack), so that
// screening measures exposure to them. The victim's addresses get no tag.
func (n *Node) incidentTags(path string, rows []incidentRow) ([]tags.Tag, error) {
	var out []tags.Tag
	for _, r := range rows {
		if !strings.HasPrefix(r.role, "attacker") {
			continue
		}
		c, err := lookupChain(r.chain, false)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, r.line, err)
		}
		a, err := n.parser.Parse(r.addr, c)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, r.line, err)
		}
		out = append(out, tags.Tag{
			Address: a, Entity: r.incident + " attacker", Label: r.incident + ": " + r.role, Category: tags.Hack,
			Source: "incidents/" + filepath.Base(path), Pack: filepath.Base(path),
			Confidence: tags.Confidence("forensic_investigation"), ConfidenceLevel: "forensic_investigation",
		})
	}
	return out, nil
}

// demoIncidentTags stores the incident file's attacker tags as one pack,
// replacing it if the file is imported again.
func (n *Node) demoIncidentTags(ctx context.Context, path string, rows []incidentRow, out io.Writer) error {
	ts, err := n.incidentTags(path, rows)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.db.ReplacePack(ctx, filepath.Base(path), ts); err != nil {
		return err
	}
	if err := n.record(ctx, "tags.import", filepath.Base(path), map[string]string{"result": fmt.Sprintf("%d attacker addresses as hack", len(ts))}); err != nil {
		return err
	}
	if err := n.reloadTags(ctx); err != nil {
		return err
	}
	n.screeningChanged(ctx)
	fmt.Fprintf(out, "  tags: %s: %d attacker addresses tagged as hack (stolen funds)\n", filepath.Base(path), len(ts))
	return nil
}

// Simulation is a laundering scenario to write into the store.
type Simulation struct {
	// Seed picks the scenario: the same seed gives the same chain.
	Seed uint64
	// Background is the ordinary transfers around the laundering.
	Background int
	// TruthPath, if set, receives the ground truth as JSON.
	TruthPath string
	// Victim and Thief, if set, name the theft's parties (sim.Config).
	Victim, Thief string
	Progress      func(ingest.Progress)
}

// Simulate generates a scenario, ingests it, tags its services (the
// exchanges' hot wallets, the mixer, the bridge, the DEX pool; not the
// deposit addresses: clustering must find those) and writes the ground
// truth.
func (n *Node) Simulate(ctx context.Context, s Simulation) (*sim.Truth, ingest.Stats, error) {
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Background = s.Seed, s.Background
	cfg.Victim, cfg.Thief = s.Victim, s.Thief
	sc, err := sim.Generate(cfg)
	if err != nil {
		return nil, ingest.Stats{}, err
	}
	st, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: sc.Source(), Options: ingest.Options{From: cfg.StartHeight, Progress: s.Progress}})
	if err != nil {
		return nil, st, fmt.Errorf("simulate: %w (simulate into a store without Ethereum data)", err)
	}
	truth := sc.Truth
	n.mu.Lock()
	err = n.db.ReplacePack(ctx, fmt.Sprintf("simulation-%d", s.Seed), truth.Tags())
	if err == nil {
		err = n.reloadTags(ctx)
	}
	n.mu.Unlock()
	if err != nil {
		return nil, st, err
	}
	if s.TruthPath != "" {
		b, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return nil, st, err
		}
		if err := os.WriteFile(s.TruthPath, b, 0o644); err != nil {
			return nil, st, err
		}
	}
	return &truth, st, nil
}

// demoKey returns the demo's API key, creating one (roles screen, trace,
// admin, metrics) on first run and keeping its secret in a file only the
// user can read.
func (n *Node) demoKey(ctx context.Context, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if _, ok := n.keys.Authenticate(secret); ok {
			return secret, nil
		}
	}
	_, secret, err := n.CreateKey(ctx, "demo", []auth.Role{auth.RoleScreen, auth.RoleTrace, auth.RoleAdmin, auth.RoleMetrics}, 0)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save demo key: %w", err)
	}
	return secret, nil
}
