package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/store/pebble"
)

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys for clients and partners"}
	var roles []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API key; the secret is printed once and never stored",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, secret, err := api.NewKey(args[0], roles, time.Now())
			if err != nil {
				return usageError("%v", err)
			}
			return a.withStore(cmd.Context(), func(db *pebble.DB) error {
				if err := db.PutKey(cmd.Context(), k); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "created key %s (%s) with roles %s; keep the secret, it is not shown again:\n", k.ID, k.Name, strings.Join(k.Roles, ","))
				fmt.Fprintln(a.stdout, secret)
				return nil
			})
		},
	}
	create.Flags().StringSliceVar(&roles, "role", []string{api.RoleScreen}, "roles: screen, trace (traces and watches), admin, metrics, taxii:read, taxii:write, taxii:publish (repeat or comma-separate)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(db *pebble.DB) error {
				keys, err := db.Keys(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tROLES\tCREATED\tSTATUS")
				for _, k := range keys {
					status := "active"
					if k.Revoked {
						status = "revoked"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Roles, ","), k.Created.Format(time.RFC3339), status)
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
			return a.withStore(cmd.Context(), func(db *pebble.DB) error {
				keys, err := db.Keys(cmd.Context())
				if err != nil {
					return err
				}
				for _, k := range keys {
					if k.ID == args[0] {
						k.Revoked = true
						if err := db.PutKey(cmd.Context(), k); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "revoked key %s (%s)\n", k.ID, k.Name)
						return nil
					}
				}
				return fmt.Errorf("no key with id %q", args[0])
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
