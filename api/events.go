package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The live event stream, GET /v1/events: server-sent events, so that the
// web interface (or a SIEM) learns of an alert the moment it is raised,
// with the browser's own EventSource and no polling.

// Event types.
const (
	// EventAlert is an alert of any kind raised into the inbox; its data
	// is the alert as GET /v1/alerts/{id} shows it.
	EventAlert = "alert"
	// EventWatch is a watch's alert as the watch raised it.
	EventWatch = "watch"
)

// Event is one event of the stream.
type Event struct {
	Type string
	// ID, if set, is the event's id (an alert's id).
	ID   string
	Data any
}

// Events is the source of the live event stream.
type Events interface {
	// Events subscribes; the channel closes when ctx ends, when the node
	// stops, or when the subscriber fell too far behind.
	Events(ctx context.Context) (<-chan Event, error)
}

// eventPing is how often an idle stream sends a comment, so that proxies
// and load balancers keep it open and a dead client is noticed.
const eventPing = 15 * time.Second

func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// A stream outlives the server's read timeout, which would otherwise
	// cancel its context.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		s.internalError(w, r, "event stream", err)
		return
	}
	ch, err := s.cfg.Events.Events(r.Context())
	if err != nil {
		s.internalError(w, r, "event stream", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Tell the client how long to wait before reconnecting.
	fmt.Fprint(w, "retry: 2000\n\n")
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(eventPing)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case ev, ok := <-ch:
			if !ok {
				return
			}
			data, err := json.Marshal(ev.Data)
			if err != nil {
				s.log.ErrorContext(r.Context(), "event stream: encode", "err", err)
				continue
			}
			fmt.Fprintf(w, "event: %s\n", ev.Type)
			if ev.ID != "" {
				fmt.Fprintf(w, "id: %s\n", ev.ID)
			}
			// JSON never holds a raw newline: one data line.
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
		if rc.Flush() != nil {
			return
		}
	}
}
