package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/ingest/etl"
	"github.com/tracehound/tracehound/ingest/transfers"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/watch"
)

// ingestFlags are the flags every ingest command shares.
type ingestFlags struct {
	from, to      uint64
	follow        bool
	confirmations uint64
	batch         int
	poll          time.Duration
	metricsAddr   string
	noProgress    bool
	watch         bool
	watchEvery    time.Duration
	webhook       string
}

func (f *ingestFlags) add(cmd *cobra.Command, fromNode bool) {
	fl := cmd.Flags()
	fl.Uint64Var(&f.from, "from", 0, "first block when the store holds none of the chain yet (later runs resume after the stored tip)")
	fl.Uint64Var(&f.to, "to", 0, "last block to ingest")
	fl.IntVar(&f.batch, "batch", 0, "blocks per atomic write (default 100; from files, as many as a bulk load commits at once, up to 8 GiB of keys)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address while ingesting, e.g. 127.0.0.1:9101")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no progress line")
	fl.BoolVar(&f.watch, "watch", false, "rerun the saved watches (tracehound watch) as blocks are stored, and alert on new endpoints")
	fl.DurationVar(&f.watchEvery, "watch-interval", 10*time.Second, "rerun watches at most this often while catching up")
	fl.StringVar(&f.webhook, "alert-webhook", "", "also POST each watch alert as JSON to this URL")
	if fromNode {
		fl.BoolVar(&f.follow, "follow", false, "keep following the node's head after catching up")
		fl.Uint64Var(&f.confirmations, "confirmations", 0, "stay this many blocks behind the node's head")
		fl.DurationVar(&f.poll, "poll", time.Second, "how often to ask for a new head when following")
	}
}

func (f *ingestFlags) options(cmd *cobra.Command, log *slog.Logger) (ingest.Options, error) {
	o := ingest.Options{From: f.from, Follow: f.follow, Confirmations: f.confirmations, Batch: f.batch, Poll: f.poll, Log: log}
	if cmd.Flags().Changed("to") {
		if f.follow {
			return o, usageError("--to and --follow exclude each other")
		}
		if f.to < f.from {
			return o, usageError("--to %d is below --from %d", f.to, f.from)
		}
		to := f.to
		o.To = &to
	}
	return o, nil
}

func newIngestCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Ingest blocks from nodes, raw block files or CSV exports into the transfer graph",
		Long: `Ingest blocks into the transfer graph in --data.

Each chain's tip is a checkpoint: a run that is stopped or killed resumes
after the last block it stored, and every batch of blocks is written
atomically, so nothing is duplicated or lost.`,
	}
	cmd.AddCommand(
		newIngestNodeCmd(a, chain.Ethereum, "eth --rpc URL [--from N --to M | --follow]",
			"Ingest Ethereum blocks, receipts, ERC-20 transfers and internal transfers from a node"),
		newIngestBtcCmd(a),
		newIngestNodeCmd(a, chain.Tron, "tron --rpc URL [--from N --to M | --follow]",
			"Ingest Tron blocks (TRX, TRC-10 and TRC-20 transfers) from a java-tron node's HTTP API"),
		newIngestCSVCmd(a), newIngestTransfersCmd(a))
	return cmd
}

// newIngestNodeCmd ingests chain c from its node's RPC API (--rpc).
func newIngestNodeCmd(a *app, c chain.Chain, use, short string) *cobra.Command {
	var f ingestFlags
	cn := node.ChainNode{Chain: c}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cn.URL == "" {
				return usageError("--rpc is required")
			}
			o, err := f.options(cmd, a.log)
			if err != nil {
				return err
			}
			_, err = a.runIngest(cmd.Context(), f, node.Ingest{Chain: c, Options: o}, &cn)
			return err
		},
	}
	f.add(cmd, true)
	addChainNodeFlags(cmd.Flags(), &cn, "rpc", "")
	return cmd
}

func newIngestBtcCmd(a *app) *cobra.Command {
	var f ingestFlags
	cn := node.ChainNode{Chain: chain.Bitcoin}
	var blocks string
	cmd := &cobra.Command{
		Use:   "btc --rpc URL | --blocks FILE_OR_DIR",
		Short: "Ingest Bitcoin blocks from a node (Bitcoin Core or btcd) or from blk*.dat files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (cn.URL == "") == (blocks == "") {
				return usageError("give exactly one of --rpc and --blocks")
			}
			o, err := f.options(cmd, a.log)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if blocks != "" {
				if f.follow {
					return usageError("--follow needs --rpc")
				}
				params, err := btcNetwork(cn.BtcNetwork)
				if err != nil {
					return err
				}
				src, err := blkfile.OpenFiles(blocks, params)
				if err != nil {
					return err
				}
				defer src.Close()
				_, err = a.runIngest(ctx, f, node.Ingest{Chain: chain.Bitcoin, Stream: src, Options: o}, nil)
				return err
			}
			_, err = a.runIngest(ctx, f, node.Ingest{Chain: chain.Bitcoin, Options: o}, &cn)
			return err
		},
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&blocks, "blocks", "", "a blk*.dat file or a directory of them")
	addChainNodeFlags(cmd.Flags(), &cn, "rpc", "")
	return cmd
}

func newIngestCSVCmd(a *app) *cobra.Command {
	var f ingestFlags
	var btcNet string
	cmd := &cobra.Command{
		Use:   "csv FILE...",
		Short: "Ingest history from blockchain-etl exports: Ethereum CSV, or with --btc bitcoin-etl transactions",
		Long: `Ingest Ethereum history from blockchain-etl (ethereum-etl, BigQuery
crypto_ethereum) CSV exports. Give the transactions export and any of the
receipts, token_transfers, traces and blocks exports of the same block
range; each file's kind is told by its header. Transactions need their
receipts (receipt_* columns or a receipts file) so that failed
transactions and fees are known.

With --btc, read a bitcoin-etl transactions export (JSON lines, or CSV with
the inputs and outputs as JSON) as Bitcoin blocks, keeping the real txids.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(cmd, a.log)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("btc") {
				if len(args) != 1 {
					return usageError("--btc reads one transactions export")
				}
				params, err := btcNetwork(btcNet)
				if err != nil {
					return err
				}
				src, err := etl.OpenBitcoin(args[0], params)
				if err != nil {
					return err
				}
				defer src.Close()
				if first, ok := src.First(); ok && !cmd.Flags().Changed("from") {
					o.From = first
				}
				_, err = a.runIngest(cmd.Context(), f, node.Ingest{Chain: chain.Bitcoin, Stream: src, Options: o}, nil)
				return err
			}
			src, err := etl.Open(args...)
			if err != nil {
				return err
			}
			defer src.Close()
			if first, ok := src.First(); ok && !cmd.Flags().Changed("from") {
				o.From = first
			}
			_, err = a.runIngest(cmd.Context(), f, node.Ingest{Chain: chain.Ethereum, Stream: src, Options: o}, nil)
			return err
		},
	}
	f.add(cmd, false)
	cmd.Flags().StringVar(&btcNet, "btc", "mainnet", "read a bitcoin-etl transactions export of this network")
	cmd.Flags().Lookup("btc").NoOptDefVal = "mainnet"
	return cmd
}

func newIngestTransfersCmd(a *app) *cobra.Command {
	var f ingestFlags
	var c, asset, tokens, native string
	var decimals int
	cmd := &cobra.Command{
		Use:   "transfers --chain CHAIN FILE...",
		Short: "Ingest transfer lists exported from explorers (Etherscan, Dune, blockchain-etl token transfers, Tron exports)",
		Long: `Ingest account-model transfers of an EVM chain or Tron from CSV files, by
header name: tx_hash, block_number, block_timestamp (RFC 3339 or unix
seconds), from_address, to_address, asset (native, a token contract or a
symbol) and value (an integer in base units; a decimal amount needs the
token's decimals from the token table, --tokens or --decimals). Etherscan's
and Dune's column names are accepted too; other columns are ignored, rows
may come in any order within a block, blocks ascending. The real
transaction hashes are kept. A bad row is an error with its file and line,
and nothing of its chunk is stored.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := registry.Lookup(c)
			if err != nil || ch != chain.Ethereum && ch != chain.Tron {
				return usageError("--chain %q: want an EVM network (eth, bsc, arb ...) or tron", c)
			}
			o, err := f.options(cmd, a.log)
			if err != nil {
				return err
			}
			to := transfers.Options{Chain: ch, Asset: asset, NativeSymbol: native}
			if cmd.Flags().Changed("decimals") {
				to.Decimals = &decimals
			}
			if tokens != "" {
				if to.Tokens, err = transfers.LoadTokens(tokens, func(c chain.Chain, s string) (string, error) {
					addr, err := registry.NewParser().Parse(s, c)
					return addr.Value, err
				}); err != nil {
					return err
				}
			}
			src, err := transfers.Open(to, args...)
			if err != nil {
				return err
			}
			defer src.Close()
			if first, ok := src.First(); ok && !cmd.Flags().Changed("from") {
				o.From = first
			}
			_, err = a.runIngest(cmd.Context(), f, node.Ingest{Chain: ch, Stream: src, Options: o}, nil)
			return err
		},
	}
	f.add(cmd, false)
	cmd.Flags().StringVar(&c, "chain", "", "chain of the transfers: an EVM network (eth, bsc, arb, polygon ...) or tron")
	cmd.Flags().StringVar(&asset, "asset", "", "asset of every row of files without an asset column: native, a token contract or a known symbol")
	cmd.Flags().StringVar(&tokens, "tokens", "", "CSV of tokens (chain, contract, symbol, decimals) beside the built-in table")
	cmd.Flags().IntVar(&decimals, "decimals", 0, "decimals of amounts written in whole units for tokens the table does not know")
	cmd.Flags().StringVar(&native, "native-symbol", "", "the symbol rows use for the chain's coin (default ETH or TRX)")
	return cmd
}

// runIngest opens the node (and the chain's node cn, if set), wires
// watches, progress and metrics, runs and prints the summary.
func (a *app) runIngest(ctx context.Context, f ingestFlags, in node.Ingest, cn *node.ChainNode) (ingest.Stats, error) {
	in.Watch, in.WatchEvery, in.BulkBlocks = f.watch, f.watchEvery, f.batch
	if f.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		in.Metrics = ingest.NewMetrics(reg)
		stop, err := serveMetrics(f.metricsAddr, reg, a.log)
		if err != nil {
			return ingest.Stats{}, err
		}
		defer stop()
	}
	if !f.noProgress {
		p := ingest.NewProgressLine(a.stderr)
		in.Progress, in.CommitProgress = p.Update, p.Commit
		defer p.Done()
	}
	var st ingest.Stats
	err := a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		if f.watch {
			n.OnAlerts(func(_ context.Context, alerts []watch.Alert) { printAlerts(a.stdout, alerts) })
			n.OnAlert(func(_ context.Context, as []alert.Alert) { printInboxAlerts(a.stdout, detected(as)) })
			if f.webhook != "" {
				n.OnAlert(n.Webhook(f.webhook))
			}
		}
		if cn != nil {
			src, closeSrc, warning, err := n.OpenChainNode(ctx, *cn)
			if err != nil {
				return err
			}
			defer closeSrc()
			if warning != "" {
				fmt.Fprintln(a.stderr, "warning:", warning)
			}
			in.Node = src
		}
		var err error
		st, err = n.Ingest(ctx, in)
		if s, ok := in.Node.(*ethrpc.Source); ok && st.Elapsed > 0 {
			ss := s.Stats()
			fmt.Fprintf(a.stdout, "node: %d requests, %d calls, %d retries; waited on RPC %s (%.0f%% of the run)\n",
				ss.Requests, ss.Calls, ss.Retries, st.SourceWait.Round(time.Millisecond), 100*st.SourceWait.Seconds()/st.Elapsed.Seconds())
		}
		return err
	})
	fmt.Fprintf(a.stdout, "%s: %d blocks, %d transfers in %s (%.0f blocks/s, %.0f transfers/s); tip %d\n",
		st.Source, st.Blocks, st.Transfers, st.Elapsed.Round(time.Millisecond), st.BlocksPerSecond(), st.TransfersPerSecond(), st.Height)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.stdout, "stopped; the next run resumes after block %d\n", st.Height)
	}
	return st, err
}

func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// btcNetwork reads --net.
func btcNetwork(name string) (*chaincfg.Params, error) {
	p, err := btc.NetworkParams(name)
	if err != nil {
		return nil, usageError("--net %q: %v", name, err)
	}
	return p, nil
}
