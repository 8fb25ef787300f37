package pebble

import (
	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/watch"
)

// The storage interfaces the domains define, and which DB implements.
var (
	_ sanctions.Store     = (*DB)(nil)
	_ sanctions.SyncStore = (*DB)(nil)
	_ tags.Store          = (*DB)(nil)
	_ audit.Store         = (*DB)(nil)
	_ auth.KeyStore       = (*DB)(nil)
	_ watch.Store         = (*DB)(nil)
	_ taxii.Store         = (*DB)(nil)
	_ taxii.CursorStore   = (*DB)(nil)
	_ alert.Store         = (*DB)(nil)
	_ alert.TransferStore = (*DB)(nil)
)
