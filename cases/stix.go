package cases

import (
	"time"

	"github.com/tracehound/tracehound/intel"
)

// STIX builds the objects that publish c to partners: the addresses of
// interest marked to share become wallet observables and indicators in a
// report named for the case, related to an incident of the case's
// reference, every object marked with the case's TLP and created by
// creator. The ids derive from the case, so publishing again makes new
// versions of the same objects. A TLP:RED case is refused: the node
// never serves RED, so its publication would reach no one.
func STIX(c Case, creator *intel.Identity, now time.Time) ([]intel.Object, error) {
	if c.TLP == intel.TLPRed {
		return nil, inputf("case %s is TLP:RED: it is never published (lower its TLP first)", c.Reference)
	}
	var listed []intel.Listed
	for _, a := range c.Addresses {
		if a.Share && a.Role != "victim" {
			listed = append(listed, intel.Listed{Chain: string(a.Chain), Address: a.Address, Role: intelRole(a.Role), Note: roleDescription(a.Role)})
		}
	}
	if len(listed) == 0 {
		return nil, inputf("case %s has no address marked to share", c.Reference)
	}
	created := now
	if len(c.Shares) > 0 {
		created = c.Shares[0].Time
	}
	return intel.Publish(intel.Publication{
		Creator:     creator,
		Name:        c.Reference + ": " + c.Title,
		Description: c.Summary,
		TLP:         c.TLP,
		Incident:    c.Reference,
		Addresses:   listed,
		Now:         now,
		Key:         "case/" + c.ID,
		Created:     created,
	})
}

// intelRole is what a case's address becomes when shared: the thieves'
// and their deposit addresses indicators, a service's or an address of
// other interest a note, never an indicator partners would block on.
func intelRole(role string) intel.Role {
	switch role {
	case "theft":
		return intel.RoleThief
	case "laundering", "deposit":
		return intel.RoleLaundering
	}
	return intel.RoleService
}

func roleDescription(role string) string {
	switch role {
	case "theft":
		return "theft: received stolen funds directly"
	case "laundering":
		return "laundering: moved stolen funds"
	case "deposit":
		return "deposit address at a service: received stolen funds"
	case "service":
		return "service that received stolen funds"
	}
	return "address of interest in the case"
}
