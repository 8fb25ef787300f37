package graph_test

import (
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/trace"
)

// The interfaces of the packages above that the graph implements. They
// are checked here, in a test, since the graph stands on a floor below
// them and must not import them.
var (
	_ ingest.Store      = (*graph.Store)(nil)
	_ ingest.BulkLoader = (*graph.BulkLoader)(nil)
	_ trace.Graph       = (*graph.Store)(nil)
	_ trace.UTXOGraph   = (*graph.Store)(nil)
	_ trace.TxReader    = (*graph.Store)(nil)
	_ cluster.Graph     = (*graph.Store)(nil)
	_ cluster.TxGraph   = (*graph.Store)(nil)
)
