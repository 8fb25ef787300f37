package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are an ingest's Prometheus series, labelled by source.
type Metrics struct {
	height    *prometheus.GaugeVec
	head      *prometheus.GaugeVec
	blocks    *prometheus.CounterVec
	transfers *prometheus.CounterVec
	reorgs    *prometheus.CounterVec
}

// NewMetrics registers the ingest series with reg. The lag behind the
// node is tracehound_ingest_head_height - tracehound_ingest_height.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		height:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracehound_ingest_height", Help: "Last block height stored."}, []string{"source"}),
		head:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracehound_ingest_head_height", Help: "The node's head height at the last check."}, []string{"source"}),
		blocks:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracehound_ingest_blocks_total", Help: "Blocks stored."}, []string{"source"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracehound_ingest_transfers_total", Help: "Transfers stored."}, []string{"source"}),
		reorgs:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracehound_ingest_reorgs_total", Help: "Reorganisations rolled back."}, []string{"source"}),
	}
	reg.MustRegister(m.height, m.head, m.blocks, m.transfers, m.reorgs)
	return m
}

func (m *Metrics) observe(source string, blocks, transfers int, height uint64) {
	m.height.WithLabelValues(source).Set(float64(height))
	m.blocks.WithLabelValues(source).Add(float64(blocks))
	m.transfers.WithLabelValues(source).Add(float64(transfers))
}
