package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/watch"
)

// The inbox: every alert the node raises, whatever raised it (a watch, a
// typology rule, the scorer, a registered transfer, a re-evaluation),
// worked by analysts with the trace role. GET /v1/alerts lists, GET
// /v1/alerts/{id} reads one, PATCH /v1/alerts/{id} assigns, dismisses or
// escalates it, and GET /v1/alerts/{id}/report drafts its
// suspicious-transaction report.

// Inbox keeps the alerts. Its methods read the acting key with
// auth.KeyFrom for the audit trail.
type Inbox interface {
	ListAlerts(ctx context.Context, q alert.Query) ([]alert.Alert, error)
	// Alert returns an alert by id; false if there is none.
	Alert(ctx context.Context, id string) (alert.Alert, bool, error)
	// UpdateAlert changes an alert's status. An unknown id is
	// alert.ErrNotFound; a change the alert cannot take an InputError.
	UpdateAlert(ctx context.Context, id string, u alert.Update) (alert.Alert, error)
	// AlertReport drafts an alert's report; false if there is no alert.
	AlertReport(ctx context.Context, id string) (alert.Report, bool, error)
}

// alertQuery reads GET /v1/alerts's parameters: kind, severity and
// status (each a comma-separated list), watch, since and limit.
func alertQuery(r *http.Request) (alert.Query, error) {
	v := r.URL.Query()
	q := alert.Query{Watch: v.Get("watch"), Limit: defaultAlertLimit}
	for _, k := range list(v.Get("kind")) {
		kind, err := alert.ParseKind(k)
		if err != nil {
			return q, err
		}
		q.Kinds = append(q.Kinds, kind)
	}
	for _, s := range list(v.Get("severity")) {
		sev, err := alert.ParseSeverity(s)
		if err != nil {
			return q, err
		}
		q.Severities = append(q.Severities, sev)
	}
	for _, s := range list(v.Get("status")) {
		st, err := alert.ParseStatus(s)
		if err != nil {
			return q, err
		}
		q.Statuses = append(q.Statuses, st)
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, errors.New("since: want an RFC 3339 time, e.g. 2025-02-21T14:00:00Z")
		}
		q.Since = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAlertLimit {
			return q, errors.New("limit: want 1 to " + strconv.Itoa(maxAlertLimit))
		}
		q.Limit = n
	}
	return q, nil
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listAlerts answers GET /v1/alerts, oldest first. A poller passes
// next_since back as since to get only newer alerts. A watch alert
// carries the watch's fields (watch, address, label, amount ...) at the
// top level, as this endpoint always showed them.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q, err := alertQuery(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if s.cfg.Inbox == nil {
		s.listWatchAlerts(w, r, q)
		return
	}
	alerts, err := s.cfg.Inbox.ListAlerts(r.Context(), q)
	if err != nil {
		s.internalError(w, r, "read alerts", err)
		return
	}
	body := map[string]any{"alerts": alerts}
	if len(alerts) == 0 {
		body["alerts"] = []alert.Alert{}
	} else {
		body["next_since"] = alerts[len(alerts)-1].Raised
	}
	writeJSON(w, http.StatusOK, body)
}

// listWatchAlerts serves GET /v1/alerts from the watches alone, for a
// server without an inbox.
func (s *Server) listWatchAlerts(w http.ResponseWriter, r *http.Request, q alert.Query) {
	if len(q.Kinds) > 0 || len(q.Severities) > 0 || len(q.Statuses) > 0 {
		writeError(w, r, http.StatusBadRequest, "bad_request", "this server keeps watch alerts only: kind, severity and status do not apply")
		return
	}
	alerts, err := s.cfg.Watcher.Alerts(r.Context(), watch.AlertQuery{Watch: q.Watch, Since: q.Since, Limit: q.Limit})
	if err != nil {
		s.internalError(w, r, "read alerts", err)
		return
	}
	body := map[string]any{"alerts": alerts}
	if len(alerts) == 0 {
		body["alerts"] = []watch.Alert{}
	} else {
		body["next_since"] = alerts[len(alerts)-1].Raised
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, ok, err := s.cfg.Inbox.Alert(r.Context(), id)
	switch {
	case err != nil:
		s.internalError(w, r, "read alert", err)
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "no alert "+id)
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

// updateAlert answers PATCH /v1/alerts/{id} with {"status": "assigned",
// "assignee": ...}, {"status": "dismissed", "reason": ...} or
// {"status": "escalated", "reason": ...}.
func (s *Server) updateAlert(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var u alert.Update
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "alert update: "+err.Error())
		return
	}
	a, err := s.cfg.Inbox.UpdateAlert(r.Context(), id, u)
	var ie *InputError
	switch {
	case errors.Is(err, alert.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", "no alert "+id)
	case errors.As(err, &ie):
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		s.internalError(w, r, "update alert", err)
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

// alertReport answers GET /v1/alerts/{id}/report: the draft as JSON, or
// with ?format=html a page to print.
func (s *Server) alertReport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		writeError(w, r, http.StatusBadRequest, "bad_request", "format: want json or html")
		return
	}
	rep, ok, err := s.cfg.Inbox.AlertReport(r.Context(), id)
	switch {
	case err != nil:
		s.internalError(w, r, "draft report", err)
		return
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "no alert "+id)
		return
	}
	if format != "html" {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		s.internalError(w, r, "draft report", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}
