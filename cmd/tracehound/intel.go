package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/node"
)

func newIntelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "intel", Short: "Intelligence sharing with partner nodes, and the audit log of what was shared"}
	auditCmd := &cobra.Command{Use: "audit", Short: "The tamper-evident audit log"}
	var against []string
	verify := &cobra.Command{
		Use:   "verify [--against HEAD_FILE...]",
		Short: "Recompute the audit log's hash chain and check its signed checkpoints and the heads recorded earlier",
		Long: `verify recomputes the hash chain of the audit log and checks the signatures
of its checkpoints (signed with the node's key, audit.key in --data). With
--against, it also proves that the log still holds each head recorded
earlier (the output of "intel audit head", kept outside the node or by a
partner): a log cut back or rewritten before a recorded head fails. What
was written after the last head recorded elsewhere can be rewritten by
whoever holds the key: record heads often.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var heads []*audit.Head
			for _, f := range against {
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				h, err := audit.ParseHead(strings.TrimSpace(string(b)))
				if err != nil {
					return usageError("--against %s: %v", f, err)
				}
				heads = append(heads, &h)
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				rep, err := n.VerifyAudit(ctx, heads...)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "audit log intact: %d entries, head %s; %d signed checkpoints (key %s), %d recorded heads held, %d entries after the last signed head\n",
					rep.Entries, rep.Head, rep.Checkpoints, rep.PublicKey, len(rep.Against), rep.Unanchored)
				return nil
			})
		},
	}
	verify.Flags().StringSliceVar(&against, "against", nil, "files holding heads recorded earlier (intel audit head)")
	head := &cobra.Command{
		Use:   "head",
		Short: "Sign and print the audit log's head, for partners or the operator to record outside the node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				h, err := n.AuditHead(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, h.String())
				return nil
			})
		},
	}
	var asJSON bool
	var from uint64
	show := &cobra.Command{
		Use:   "show",
		Short: "Print audit entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				enc := json.NewEncoder(a.stdout)
				return n.AuditEntries(ctx, from, func(e audit.Entry) error {
					if asJSON {
						return enc.Encode(e)
					}
					var det []string
					for k, v := range e.Detail {
						det = append(det, k+"="+v)
					}
					_, err := fmt.Fprintf(a.stdout, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Target, strings.Join(det, " "))
					return err
				})
			})
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "one JSON entry a line")
	show.Flags().Uint64Var(&from, "from", 1, "first sequence number")
	auditCmd.AddCommand(verify, head, show)
	cmd.AddCommand(auditCmd)
	addSharingCmds(a, cmd)
	return cmd
}
