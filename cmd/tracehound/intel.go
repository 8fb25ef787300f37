package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/node"
)

func newIntelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "intel", Short: "Intelligence sharing with partner nodes, and the audit log of what was shared"}
	auditCmd := &cobra.Command{Use: "audit", Short: "The tamper-evident audit log"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit log's hash chain; fails if any entry was altered, removed or reordered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				rep, err := n.VerifyAudit(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "audit log intact: %d entries, head %s\n", rep.Entries, rep.Head)
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
	auditCmd.AddCommand(verify, show)
	cmd.AddCommand(auditCmd)
	addSharingCmds(a, cmd)
	return cmd
}
