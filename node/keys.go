package node

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
)

// CreateKey makes an API key and stores it; the secret is returned once
// and never kept. The creation is audited (never the secret).
func (n *Node) CreateKey(ctx context.Context, name string, roles []auth.Role, clearance intel.TLP) (auth.Key, string, error) {
	k, secret, err := auth.NewKey(name, roles, clearance, n.now())
	if err != nil {
		return auth.Key{}, "", inputErr(err)
	}
	if err := n.db.PutKey(ctx, k); err != nil {
		return auth.Key{}, "", err
	}
	if err := n.reloadKeys(ctx); err != nil {
		return auth.Key{}, "", err
	}
	return k, secret, n.record(ctx, "key.create", k.ID, map[string]string{"name": k.Name, "roles": auth.JoinRoles(k.Roles), "clearance": k.MaxTLP().String()})
}

// RevokeKey revokes a key by its id, at once for a running node.
func (n *Node) RevokeKey(ctx context.Context, id string) (auth.Key, error) {
	keys, err := n.db.Keys(ctx)
	if err != nil {
		return auth.Key{}, err
	}
	for _, k := range keys {
		if k.ID != id {
			continue
		}
		k.Revoked = true
		if err := n.db.PutKey(ctx, k); err != nil {
			return auth.Key{}, err
		}
		if err := n.reloadKeys(ctx); err != nil {
			return auth.Key{}, err
		}
		return k, n.record(ctx, "key.revoke", k.ID, map[string]string{"name": k.Name})
	}
	return auth.Key{}, fmt.Errorf("no key with id %q", id)
}

// ListKeys lists the stored keys, revoked ones included (never secrets:
// only their hashes are kept).
func (n *Node) ListKeys(ctx context.Context) ([]auth.Key, error) { return n.db.Keys(ctx) }

func (n *Node) reloadKeys(ctx context.Context) error {
	keys, err := n.db.Keys(ctx)
	if err != nil {
		return err
	}
	n.keys.Reload(keys)
	return nil
}
