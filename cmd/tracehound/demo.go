package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
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
	if err := o.serve.checkMemoryLimit(); err != nil {
		return err
	}
	shared := o.shared
	if shared == "" {
		var err error
		if shared, err = node.FindSharedData(); err != nil {
			return err
		}
	}
	n, err := a.open(ctx, o.serve.taxii)
	if err != nil {
		return err
	}
	defer n.Close()
	ctx = node.AsActor(ctx, "demo")
	d, err := n.LoadDemo(ctx, shared, o.reload, a.stdout)
	if err != nil {
		return err
	}
	return usage(n.Serve(ctx, a.serveConfig(n, o.serve, func(addr string) {
		printDemoHelp(a, addr, d)
		if ready != nil {
			ready(addr, d.Key)
		}
	})))
}

func printDemoHelp(a *app, addr string, d node.Demo) {
	key, theftTx := d.Key, d.TheftTx
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

`, base, key, d.KeyFile)
	if theftTx != "" {
		fmt.Fprintf(st, `  # the simulated theft, traced through the mixer, bridge and DEX swap to exchange deposit addresses:
  curl -s -H "Authorization: Bearer %[2]s" -d '{"chain":"eth","seeds":["%[3]s"],"hops":30}' %[1]s/v1/traces
`, base, key, theftTx)
	}
	fmt.Fprintf(st, "\nStop with Ctrl-C.\n")
}
