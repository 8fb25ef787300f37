package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain/chaintest"
)

type server struct {
	url  string
	keys map[string]string
}

func (s *server) do(t *testing.T, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		must(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	must(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+s.keys[key])
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, out
}

// serveNode serves n on loopback until the test ends, with a key per
// role: "exchange" (screen), "analyst" (trace), "prometheus" (metrics).
func serveNode(t *testing.T, n *Node, webhook string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{keys: map[string]string{}}
	for name, role := range map[string]auth.Role{"exchange": auth.RoleScreen, "analyst": auth.RoleTrace, "prometheus": auth.RoleMetrics} {
		_, secret, err := n.CreateKey(ctx, name, []auth.Role{role}, 0)
		must(t, err)
		s.keys[name] = secret
	}
	if webhook != "" {
		n.OnAlert(n.Webhook(webhook))
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ServeConfig{Addr: "127.0.0.1:0", Ready: func(a string) { ready <- a }}) }()
	select {
	case a := <-ready:
		s.url = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// TestServeMonitoring drives transfers and alerts through a serving
// node's API: registration (201, then 200 for a repeat, 409 for another
// content, 400 for a bad one, 403 without the screen role), the inbox
// (filters, one alert, 404), its review (PATCH: 403 without the trace
// role, 400, 404), the report draft in JSON and HTML, the live event
// stream and the webhook, which receive the alert as it is raised.
func TestServeMonitoring(t *testing.T) {
	n, _ := monitorNode(t)
	var mu sync.Mutex
	var hooked []alert.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alert.Alert
		if json.NewDecoder(r.Body).Decode(&a) == nil {
			mu.Lock()
			hooked = append(hooked, a)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	s := serveNode(t, n, hook.URL)

	// The event stream, open before the alert is raised.
	req, _ := http.NewRequest("GET", s.url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+s.keys["analyst"])
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	events := make(chan [2]string, 8)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				typ = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{typ, v}
			}
		}
		close(events)
	}()

	c1 := chaintest.EthAddr("c1")
	body := deposit("T-2", lazarus, hexTx(2, 0), "500")
	if code, b := s.do(t, "POST", "/v1/transfers", "analyst", body); code != http.StatusForbidden {
		t.Errorf("registration by a trace key: %d %s", code, b)
	}
	code, b := s.do(t, "POST", "/v1/transfers", "exchange", body)
	var tr alert.Transfer
	if code != http.StatusCreated || json.Unmarshal(b, &tr) != nil || tr.Decision.Action != alert.Block || len(tr.Alerts) != 1 {
		t.Fatalf("register: %d %s", code, b)
	}
	if code, b := s.do(t, "POST", "/v1/transfers", "exchange", body); code != http.StatusOK || !bytes.Contains(b, []byte(`"action":"block"`)) {
		t.Errorf("repeat: %d %s", code, b)
	}
	body.Amount = "501"
	if code, b := s.do(t, "POST", "/v1/transfers", "exchange", body); code != http.StatusConflict {
		t.Errorf("other content: %d %s", code, b)
	}
	for _, bad := range []any{`{"id":`, map[string]any{"id": "T-3", "colour": "red"}, deposit("T-3", c1, "0x12", "1")} {
		if code, b := s.do(t, "POST", "/v1/transfers", "exchange", bad); code != http.StatusBadRequest {
			t.Errorf("bad %v: %d %s", bad, code, b)
		}
	}
	if code, b := s.do(t, "GET", "/v1/transfers/T-2", "exchange", nil); code != 200 || !bytes.Contains(b, []byte(`"chain_check":{"status":"agrees"`)) {
		t.Errorf("get transfer: %d %s", code, b)
	}
	if code, _ := s.do(t, "GET", "/v1/transfers/T-404", "exchange", nil); code != http.StatusNotFound {
		t.Errorf("unknown transfer: %d", code)
	}

	// The alert reached the stream and the webhook as it was raised.
	select {
	case ev := <-events:
		var a alert.Alert
		if ev[0] != "alert" || json.Unmarshal([]byte(ev[1]), &a) != nil || a.ID != tr.Alerts[0] || a.Kind != alert.KindTransfer {
			t.Errorf("event %s: %s", ev[0], ev[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	mu.Lock()
	if len(hooked) != 1 || hooked[0].ID != tr.Alerts[0] {
		t.Errorf("webhook got %+v", hooked)
	}
	mu.Unlock()

	id := tr.Alerts[0]
	type page struct {
		Alerts    []alert.Alert
		NextSince time.Time `json:"next_since"`
	}
	for q, want := range map[string]int{"": 1, "?kind=transfer": 1, "?kind=rule,watch": 0, "?severity=severe": 1, "?severity=high": 0, "?status=open": 1} {
		code, b := s.do(t, "GET", "/v1/alerts"+q, "analyst", nil)
		var p page
		if code != 200 || json.Unmarshal(b, &p) != nil || len(p.Alerts) != want {
			t.Errorf("alerts%s: %d %s", q, code, b)
		}
	}
	for _, q := range []string{"?kind=noise", "?severity=dire", "?status=closed", "?since=yesterday", "?limit=0"} {
		if code, _ := s.do(t, "GET", "/v1/alerts"+q, "analyst", nil); code != http.StatusBadRequest {
			t.Errorf("alerts%s: %d", q, code)
		}
	}
	if code, _ := s.do(t, "GET", "/v1/alerts", "exchange", nil); code != http.StatusForbidden {
		t.Errorf("alerts by a screen key: %d", code)
	}
	if code, b := s.do(t, "GET", "/v1/alerts/"+id, "analyst", nil); code != 200 || !bytes.Contains(b, []byte(`"kind":"transfer"`)) {
		t.Errorf("alert: %d %s", code, b)
	}
	if code, _ := s.do(t, "GET", "/v1/alerts/al-000000000000000000000000", "analyst", nil); code != http.StatusNotFound {
		t.Errorf("unknown alert: %d", code)
	}

	assign := map[string]string{"status": "assigned", "assignee": "kim"}
	if code, _ := s.do(t, "PATCH", "/v1/alerts/"+id, "exchange", assign); code != http.StatusForbidden {
		t.Errorf("PATCH by a key without the trace role: %d", code)
	}
	if code, _ := s.do(t, "PATCH", "/v1/alerts/"+id, "", assign); code != http.StatusUnauthorized {
		t.Errorf("PATCH without a key: %d", code)
	}
	if code, _ := s.do(t, "PATCH", "/v1/alerts/al-000000000000000000000000", "analyst", assign); code != http.StatusNotFound {
		t.Errorf("PATCH of an unknown alert: %d", code)
	}
	for _, bad := range []any{map[string]string{"status": "dismissed"}, map[string]string{"status": "assigned"}, map[string]string{"status": "closed"},
		map[string]string{"status": "assigned", "assignee": "kim", "priority": "p1"}, "{"} {
		if code, b := s.do(t, "PATCH", "/v1/alerts/"+id, "analyst", bad); code != http.StatusBadRequest {
			t.Errorf("PATCH %v: %d %s", bad, code, b)
		}
	}
	code, b = s.do(t, "PATCH", "/v1/alerts/"+id, "analyst", assign)
	var a alert.Alert
	if code != 200 || json.Unmarshal(b, &a) != nil || a.Status != alert.StatusAssigned || a.Assignee != "kim" || a.History[0].Actor != "analyst" {
		t.Fatalf("assign: %d %s", code, b)
	}
	code, b = s.do(t, "PATCH", "/v1/alerts/"+id, "analyst", map[string]string{"status": "escalated", "reason": "freeze requested"})
	if code != 200 || !bytes.Contains(b, []byte(`"status":"escalated"`)) {
		t.Errorf("escalate: %d %s", code, b)
	}
	if code, b := s.do(t, "GET", "/v1/alerts?status=escalated", "analyst", nil); code != 200 || !bytes.Contains(b, []byte(id)) {
		t.Errorf("escalated alerts: %d %s", code, b)
	}

	code, b = s.do(t, "GET", "/v1/alerts/"+id+"/report", "analyst", nil)
	var rep alert.Report
	if code != 200 || json.Unmarshal(b, &rep) != nil || len(rep.Transfers) != 1 || rep.Transfers[0].Amount.Text != "0.0000000000000005 ETH" ||
		rep.Subjects[0].Address != lazarus || !strings.Contains(rep.Narrative, "escalated: freeze requested") {
		t.Errorf("report: %d %s", code, b)
	}
	code, b = s.do(t, "GET", "/v1/alerts/"+id+"/report?format=html", "analyst", nil)
	if code != 200 || !bytes.HasPrefix(b, []byte("<!doctype html>")) || !bytes.Contains(b, []byte(lazarus)) || !bytes.Contains(b, []byte("T-2")) {
		t.Errorf("report page: %d %.300s", code, b)
	}
	if code, _ := s.do(t, "GET", "/v1/alerts/"+id+"/report?format=pdf", "analyst", nil); code != http.StatusBadRequest {
		t.Errorf("report as pdf: %d", code)
	}
	if code, _ := s.do(t, "GET", "/v1/alerts/al-000000000000000000000000/report", "analyst", nil); code != http.StatusNotFound {
		t.Errorf("report of an unknown alert: %d", code)
	}
	if code, _ := s.do(t, "GET", "/v1/events", "exchange", nil); code != http.StatusForbidden {
		t.Errorf("events by a screen key: %d", code)
	}
	// The inbox is counted for Prometheus.
	code, b = s.do(t, "GET", "/metrics", "prometheus", nil)
	if code != 200 || !bytes.Contains(b, []byte(`tracehound_alerts_raised_total{kind="transfer",severity="severe"} 1`)) ||
		!bytes.Contains(b, []byte(`tracehound_alert_updates_total{status="escalated"} 1`)) {
		t.Errorf("metrics: %d", code)
	}
}

// TestEventsEndWithServer: an open event stream neither holds the server
// up when it stops nor ends before: the stream closes at once.
func TestEventsEndWithServer(t *testing.T) {
	n := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, secret, err := n.CreateKey(ctx, "analyst", []auth.Role{auth.RoleTrace}, 0)
	must(t, err)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- n.Serve(ctx, ServeConfig{Addr: "127.0.0.1:0", Ready: func(a string) { ready <- a },
			Limits: Limits{MaxConns: 10, MaxConnsPerIP: 10, ReadHeader: time.Second, Read: 200 * time.Millisecond, Idle: time.Second}})
	}()
	url := "http://" + <-ready
	req, _ := http.NewRequest("GET", url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	// Past the server's read timeout, the stream is still open.
	time.Sleep(400 * time.Millisecond)
	n.mon.events.publish(eventFor("still here"))
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				line <- sc.Text()
			}
		}
		close(line)
	}()
	select {
	case l := <-line:
		if l != `data: "still here"` {
			t.Errorf("got %q", l)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stream ended with the read timeout")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server waits on the open stream")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %s", d)
	}
	if _, ok := <-line; ok {
		t.Error("the stream sent more after the server stopped")
	}
}

func eventFor(s string) api.Event { return api.Event{Type: api.EventWatch, Data: s} }

// open opens a node over a new store, closed when the test ends.
func open(t *testing.T) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	must(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}
