package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
)

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys for clients and partners"}
	var roles []string
	var clearance string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API key; the secret is printed once and never stored",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := auth.ParseRoles(roles)
			if err != nil {
				return usageError("--role: %v", err)
			}
			var level intel.TLP
			if clearance != "" {
				if level, err = intel.ParseTLP(clearance); err != nil {
					return usageError("--clearance: %v", err)
				}
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				k, secret, err := n.CreateKey(ctx, args[0], rs, level)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "created key %s (%s) with roles %s, clearance %s; keep the secret, it is not shown again:\n", k.ID, k.Name, auth.JoinRoles(k.Roles), k.MaxTLP())
				fmt.Fprintln(a.stdout, secret)
				return nil
			})
		},
	}
	create.Flags().StringSliceVar(&roles, "role", []string{string(auth.RoleScreen)}, "roles (repeat or comma-separate):\n"+auth.RoleHelp())
	create.Flags().StringVar(&clearance, "clearance", "", "most restricted TLP whose details the key reads in screening answers: clear, green, amber, amber+strict or red (default green for screen and partner keys, amber for trace, publish and admin keys)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				keys, err := n.ListKeys(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tROLES\tCLEARANCE\tCREATED\tSTATUS")
				for _, k := range keys {
					status := "active"
					if k.Revoked {
						status = "revoked"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, auth.JoinRoles(k.Roles), k.MaxTLP(), k.Created.Format(time.RFC3339), status)
				}
				return tw.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key by its id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				k, err := n.RevokeKey(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "revoked key %s (%s)\n", k.ID, k.Name)
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
