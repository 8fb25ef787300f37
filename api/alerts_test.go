package api_test

import (
	"net/http"
	"testing"
)

// TestWatchAlertsWithoutInbox: a server with watches and no inbox serves
// GET /v1/alerts from the watches, refuses the inbox's filters, and has
// no /v1/alerts/{id}.
func TestWatchAlertsWithoutInbox(t *testing.T) {
	f := newWatchFixture(t)
	if resp, body := f.do(t, "GET", "/v1/alerts?watch=x", f.traceKey, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("watch alerts: %d %s", resp.StatusCode, body)
	}
	for _, q := range []string{"kind=rule", "severity=high", "status=open"} {
		if resp, body := f.do(t, "GET", "/v1/alerts?"+q, f.traceKey, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	for _, c := range []struct{ method, path string }{{"GET", "/v1/alerts/al-1"}, {"PATCH", "/v1/alerts/al-1"}, {"GET", "/v1/events"}, {"POST", "/v1/transfers"}} {
		if resp, _ := f.do(t, c.method, c.path, f.traceKey, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}
}
