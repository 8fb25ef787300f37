package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/screen"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or check the risk policy screening rates by",
		Long: `The risk policy maps what screening finds (sanctions listings, attributions,
partners' flags, exposure by category, direction, hops, share and amount) to a
risk level; every answer names the rule that set its risk. docs/risk-policy.md
describes the file. Start a node on one with --policy FILE.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the policy in use (--policy, or the embedded default) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.policy == "" {
				_, err := a.stdout.Write(screen.DefaultPolicyYAML())
				return err
			}
			b, err := os.ReadFile(a.policy)
			if err != nil {
				return err
			}
			if _, err := screen.ParsePolicy(b, a.policy); err != nil {
				return &exitError{code: 2, err: err}
			}
			_, err = a.stdout.Write(b)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a policy file: unknown keys, categories or severities and overlapping rules are refused with their line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := screen.LoadPolicy(args[0])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			self := 0
			for _, r := range p.Rules {
				if r.Direction == screen.DirSelf {
					self++
				}
			}
			fmt.Fprintf(a.stdout, "%s: policy %q, %d rules (%d on what an address is, %d on exposure), exposure followed %d hops, attributions below confidence %d held to medium\n",
				args[0], p.Name, len(p.Rules), self, len(p.Rules)-self, p.MaxHops, p.MinConfidence)
			return nil
		},
	})
	return cmd
}
