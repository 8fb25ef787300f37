package pebble

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

const prefixPeers = "pr/"

// Peer is a partner node whose collection this node pulls. Key is the API
// key the partner issued to this node: kept in the store (a directory only
// its owner may read), never logged.
type Peer struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	APIRoot    string `json:"api_root"`
	Collection string `json:"collection"`
	Key        string `json:"key"`
	// User, if set, sends Key as the password of HTTP Basic
	// authentication with this user name, rather than as a bearer key.
	User string `json:"user,omitempty"`
	// CAFile, CertFile and KeyFile are PEM files: the CA to trust for the
	// partner's server certificate, and this node's client certificate
	// and key where the partner requires mutual TLS.
	CAFile   string `json:"ca_file,omitempty"`
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
}

// Peers returns the partner nodes in name order.
func (d *DB) Peers(ctx context.Context) ([]Peer, error) {
	var out []Peer
	err := d.scan(ctx, []byte(prefixPeers), func(_, v []byte) error {
		var p Peer
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("decode peer: %w", err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// PutPeer saves a partner node, replacing one of the same name.
func (d *DB) PutPeer(ctx context.Context, p Peer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return d.db.Set([]byte(prefixPeers+p.Name), v, pebble.Sync)
}
