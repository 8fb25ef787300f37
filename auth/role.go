package auth

import (
	"fmt"
	"strings"
)

// Role is what a key may do. The set is closed: every endpoint names the
// role it needs, and a key is created only with roles from this list, so
// that a partner's key is limited to exactly what it must do.
type Role string

// The roles.
const (
	// RoleScreen screens addresses and reads the sanctions versions.
	RoleScreen Role = "screen"
	// RoleTrace runs traces and keeps watches and their alerts: the
	// node's investigators, not screening clients.
	RoleTrace Role = "trace"
	// RoleAdmin imports lists and tags and manages keys; it holds every
	// other role.
	RoleAdmin Role = "admin"
	// RoleMetrics scrapes /metrics.
	RoleMetrics Role = "metrics"
	// RoleTAXIIRead reads the TAXII collections a key is named on.
	RoleTAXIIRead Role = "taxii:read"
	// RoleTAXIIWrite adds objects to the TAXII collections a key may
	// write, as the partner the key belongs to.
	RoleTAXIIWrite Role = "taxii:write"
	// RoleTAXIIPublish posts objects in the node's own name: its own
	// analysts' keys.
	RoleTAXIIPublish Role = "taxii:publish"
)

// roles is every role with what it lets a key do, in the order help and
// errors list them.
var roles = []struct {
	role Role
	does string
}{
	{RoleScreen, "screen addresses"},
	{RoleTrace, "run traces, keep watches and read alerts"},
	{RoleAdmin, "import lists and tags, manage keys; holds every role"},
	{RoleMetrics, "scrape /metrics"},
	{RoleTAXIIRead, "read the TAXII collections the key is named on"},
	{RoleTAXIIWrite, "add objects to the TAXII collections the key may write"},
	{RoleTAXIIPublish, "publish over TAXII in the node's own name"},
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	for _, x := range roles {
		if x.role == r {
			return true
		}
	}
	return false
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("unknown role %q (want one of %s)", s, RoleNames())
	}
	return r, nil
}

// ParseRoles reads a list of role names.
func ParseRoles(names []string) ([]Role, error) {
	out := make([]Role, 0, len(names))
	for _, n := range names {
		r, err := ParseRole(n)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RoleNames lists the roles, comma-separated.
func RoleNames() string {
	names := make([]string, len(roles))
	for i, x := range roles {
		names[i] = string(x.role)
	}
	return strings.Join(names, ", ")
}

// RoleHelp describes every role, one "name: what it does" per line.
func RoleHelp() string {
	var b strings.Builder
	for _, x := range roles {
		fmt.Fprintf(&b, "%s: %s\n", x.role, x.does)
	}
	return b.String()
}

// JoinRoles joins roles with commas, for display.
func JoinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
