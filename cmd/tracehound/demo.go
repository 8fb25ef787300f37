package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/sim"
)

type demoOptions struct {
	serve  serveOptions
	shared string
	reload bool
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load the real OFAC lists, attribution tags and early Bitcoin blocks into the store in --data and serve the API",
		Long: `demo imports the OFAC SDN list versions, the GraphSense and Etherscan
attribution tags and the first 14,132 Bitcoin blocks found in the shared
data directory (../shared/data by default) into the embedded store, adds
a simulated Bybit-style theft on Ethereum (clearly marked as simulated,
with its ground truth) so that tracing can be tried end to end, creates
an API key, prints example requests, and serves the API on 127.0.0.1.
Data already imported is not imported again unless --reload is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), o, nil)
		},
	}
	addServeFlags(cmd, &o.serve)
	cmd.Flags().StringVar(&o.shared, "shared-data", "", "directory with ofac/ and tags/ (default: ../shared/data found from the working directory)")
	cmd.Flags().BoolVar(&o.reload, "reload", false, "import the lists and tags again even if the store has them")
	return cmd
}

// demo loads the real data and serves. ready, if not nil, receives the
// listening address and the demo API key.
func (a *app) demo(ctx context.Context, o demoOptions, ready func(addr, key string)) error {
	start := time.Now()
	shared := o.shared
	if shared == "" {
		var err error
		if shared, err = findSharedData(); err != nil {
			return err
		}
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newService(ctx, db, a.log)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "tracehound demo: store %s, data from %s\n", a.dataDir, shared)
	if err := a.demoSanctions(ctx, svc, shared, o.reload); err != nil {
		return err
	}
	if err := a.demoTags(ctx, svc, shared, o.reload); err != nil {
		return err
	}
	if err := a.demoBlocks(ctx, svc, shared); err != nil {
		return err
	}
	theftTx, err := a.demoSimulation(ctx, svc)
	if err != nil {
		return err
	}
	key, err := demoKey(ctx, svc, a.dataDir)
	if err != nil {
		return err
	}
	return a.serveService(ctx, svc, o.serve, start, func(addr string) {
		printDemoHelp(a, addr, key, theftTx)
		if ready != nil {
			ready(addr, key)
		}
	})
}

// findSharedData looks for shared/data beside the working directory or
// one of its parents, where the repository's checkout keeps it.
func findSharedData() (string, error) {
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

func (a *app) demoSanctions(ctx context.Context, svc *service, shared string, reload bool) error {
	versions, err := sanctions.Versions(ctx, svc.db)
	if err != nil {
		return err
	}
	if len(versions) > 0 && !reload {
		fmt.Fprintf(a.stdout, "  sanctions: %d list versions already stored\n", len(versions))
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
		res, err := svc.ImportSanctions(ctx, f, filepath.Base(f))
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "  sanctions: %s imported in %s: %s\n", filepath.Base(f), time.Since(t).Round(time.Millisecond), summarize(res))
	}
	return nil
}

func (a *app) demoTags(ctx context.Context, svc *service, shared string, reload bool) error {
	if st := svc.index.Stats(); st.Tags > 0 && !reload {
		fmt.Fprintf(a.stdout, "  tags: %d tags on %d addresses already stored\n", st.Tags, st.TaggedAddresses)
		return nil
	}
	for _, p := range []string{filepath.Join(shared, "tags", "graphsense-tagpacks"), filepath.Join(shared, "tags", "etherscan-labels")} {
		if _, err := os.Stat(p); err != nil {
			a.log.Warn("attribution source missing, skipped", "path", p)
			continue
		}
		t := time.Now()
		rep, err := svc.importTagsPath(ctx, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "  tags: %s imported in %s: %s\n", filepath.Base(p), time.Since(t).Round(time.Millisecond), summarize(rep))
	}
	return nil
}

// demoBlocks ingests the real early mainnet block file, so that address
// and trace have a real chain to walk.
func (a *app) demoBlocks(ctx context.Context, svc *service, shared string) error {
	file := filepath.Join(shared, "btc", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err != nil {
		fmt.Fprintf(a.stdout, "  bitcoin: no %s; skipped\n", file)
		return nil
	}
	src, err := blkfile.OpenFiles(file, &chaincfg.MainNetParams)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := ingest.RunStream(ctx, svc.db.Graph(), src, ingest.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "  bitcoin: %d blocks (%d transfers) of %s ingested in %s; tip %d\n", st.Blocks, st.Transfers, filepath.Base(file), st.Elapsed.Round(time.Millisecond), st.Height)
	return nil
}

// demoSimulation writes a simulated Bybit-style theft on Ethereum (split
// wallets, peel chains, a mixer, a bridge, a DEX swap, deposits at
// exchanges, among ordinary traffic) on first run, so that a trace can
// be tried end to end; it returns the theft's transaction.
func (a *app) demoSimulation(ctx context.Context, svc *service) (string, error) {
	truthPath := filepath.Join(a.dataDir, "demo-simulation.json")
	if _, ok, err := svc.db.Graph().Tip(ctx, chain.Ethereum); err != nil {
		return "", err
	} else if ok {
		var truth sim.Truth
		b, err := os.ReadFile(truthPath)
		if err != nil || json.Unmarshal(b, &truth) != nil {
			fmt.Fprintf(a.stdout, "  ethereum: the store holds Ethereum data; no simulation added\n")
			return "", nil
		}
		fmt.Fprintf(a.stdout, "  ethereum: simulated theft already stored (tx %s)\n", truth.TheftTx)
		return truth.TheftTx, nil
	}
	truth, st, err := simulateInto(ctx, svc.db, 1, 100_000, truthPath, nil)
	if err != nil {
		return "", err
	}
	if err := svc.reloadTags(ctx); err != nil {
		return "", err
	}
	fmt.Fprintf(a.stdout, "  ethereum: simulated theft of %s wei laundered among %d transfers in %s (SIMULATED data; ground truth in %s)\n",
		truth.Theft, st.Transfers, st.Elapsed.Round(time.Millisecond), truthPath)
	return truth.TheftTx, nil
}

// summarize renders an import result on one line.
func summarize(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%+v", v)
}

// demoKey returns the demo's API key, creating one (roles screen, admin,
// metrics) on first run and keeping its secret in a file only the user
// can read.
func demoKey(ctx context.Context, svc *service, dataDir string) (string, error) {
	path := filepath.Join(dataDir, "demo-api-key")
	keys, err := svc.db.Keys(ctx)
	if err != nil {
		return "", err
	}
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if _, ok := auth.NewKeyring(keys).Authenticate(secret); ok {
			return secret, nil
		}
	}
	k, secret, err := auth.NewKey("demo", []auth.Role{auth.RoleScreen, auth.RoleTrace, auth.RoleAdmin, auth.RoleMetrics}, 0, time.Now().UTC())
	if err != nil {
		return "", err
	}
	if err := svc.db.PutKey(ctx, k); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save demo key: %w", err)
	}
	return secret, nil
}

func printDemoHelp(a *app, addr, key, theftTx string) {
	st := a.stdout
	base := "http://" + addr
	fmt.Fprintf(st, `
tracehound is serving on %[1]s
  API key (also in %[3]s): %[2]s

Try:
  curl -s %[1]s/healthz
  curl -s -H "Authorization: Bearer %[2]s" %[1]s/v1/addresses/auto/0x098B716B8Aaf21512996dC57EB0615e2383E2f96
  curl -s -H "Authorization: Bearer %[2]s" -d '{"addresses":["0x28c6c06298d514db089934071355e5743bf21d60","1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",{"address":"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb","chain":"LTC"}]}' %[1]s/v1/screen
  curl -s -H "Authorization: Bearer %[2]s" -d '{"chain":"btc","seeds":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"],"hops":3}' %[1]s/v1/traces
  curl -s -H "Authorization: Bearer %[2]s" %[1]s/metrics | head
  TRACEHOUND_API_KEY=%[2]s go run ./cmd/tracehound screen --server %[1]s 0x098B716B8Aaf21512996dC57EB0615e2383E2f96

`, base, key, filepath.Join(a.dataDir, "demo-api-key"))
	if theftTx != "" {
		fmt.Fprintf(st, `  # the simulated theft, traced through the mixer, bridge and DEX swap to exchange deposit addresses:
  curl -s -H "Authorization: Bearer %[2]s" -d '{"chain":"eth","seeds":["%[3]s"],"hops":30}' %[1]s/v1/traces
`, base, key, theftTx)
	}
	fmt.Fprintf(st, "\nStop with Ctrl-C.\n")
}
