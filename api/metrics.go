package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tracehound/tracehound/screen"
)

// metrics are the server's Prometheus collectors, on a registry of its own
// so that two servers in one process (as in tests) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	screened *prometheus.CounterVec
	busy     prometheus.Counter
}

func newMetrics(idx *screen.Index) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tracehound_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		screened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_screened_addresses_total",
			Help: "Addresses screened, by resulting risk level (invalid for rejected input).",
		}, []string{"risk"}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracehound_requests_refused_busy_total",
			Help: "Requests answered 503 because the request bytes in flight were at their limit.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.screened, m.busy,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if idx != nil {
		gauge := func(name, help string, f func(screen.Stats) int) {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
				func() float64 { return float64(f(idx.Stats())) }))
		}
		gauge("tracehound_index_sanctioned_addresses", "Sanctioned addresses in the screening index.", func(s screen.Stats) int { return s.SanctionedAddresses })
		gauge("tracehound_index_tagged_addresses", "Attributed addresses in the screening index.", func(s screen.Stats) int { return s.TaggedAddresses })
		gauge("tracehound_index_tags", "Attribution tags in the screening index.", func(s screen.Stats) int { return s.Tags })
		gauge("tracehound_index_intel_addresses", "Addresses flagged by partners in the screening index.", func(s screen.Stats) int { return s.IntelAddresses })
	}
	return m
}
