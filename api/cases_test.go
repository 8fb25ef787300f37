package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// theft is the thief's address of the cases' node: it received 401,346
// ETH at block 1 and sent it on at block 2.
const theft = "0x47666fab8bd0ac7003bce3f5c3585383f09486e2"

type caseFixture struct {
	srv                      *httptest.Server
	db                       *pebble.DB
	alice, bob, screen, root string
	node                     *node.Node
}

func newCaseFixture(t *testing.T) *caseFixture {
	t.Helper()
	// A real node traces for the cases, over a theft written as blocks.
	n, err := node.Open(context.Background(), node.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	db := n.Store()
	blocks := []*chain.Block{chaintest.PayBlock(1, [3]string{"b1", "0", "401346000000000000000000"}), chaintest.PayBlock(2, [3]string{"0", "d7", "401346000000000000000000"})}
	for _, b := range blocks {
		for i := range b.Txs {
			b.Txs[i].From = "0x" + strings.Repeat("0", 40)
			if b.Height == 1 {
				b.Txs[i].Transfers[0].To = theft
			} else {
				b.Txs[i].From, b.Txs[i].Transfers[0].From = theft, theft
			}
		}
	}
	if err := db.Graph().WriteBlocks(context.Background(), chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	svc, err := cases.NewService(cases.Config{Store: db, Audit: n.Audit(), Parser: registry.NewParser(), MaxAttachment: 4096})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := &caseFixture{db: db, node: n}
	var keys []auth.Key
	for _, k := range []struct {
		name  string
		roles []auth.Role
		dst   *string
	}{{"alice", []auth.Role{auth.RoleTrace}, &f.alice}, {"bob", []auth.Role{auth.RoleTrace}, &f.bob},
		{"exchange", []auth.Role{auth.RoleScreen}, &f.screen}, {"ops", []auth.Role{auth.RoleAdmin}, &f.root}} {
		key, secret, err := auth.NewKey(k.name, k.roles, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		*k.dst = secret
	}
	f.srv = httptest.NewServer(api.New(api.Config{Keys: auth.NewKeyring(keys), Parser: n.Parser(), Cases: svc, Tracer: n}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *caseFixture) do(t *testing.T, method, path, key string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// runs counts the traces the node ran, from its audit log.
func (f *caseFixture) runs(t *testing.T) int {
	t.Helper()
	n := 0
	if err := f.node.AuditEntries(context.Background(), 1, func(e audit.Entry) error {
		if e.Action == "trace.run" {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *caseFixture) must(t *testing.T, want int, method, path, key string, body any) []byte {
	t.Helper()
	resp, b := f.do(t, method, path, key, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return b
}

func TestCasesAPI(t *testing.T) {
	f := newCaseFixture(t)
	var c cases.Case
	if err := json.Unmarshal(f.must(t, 201, "POST", "/v1/cases", f.alice, map[string]any{
		"reference": "BYBIT-2025", "title": "Bybit", "tlp": "amber", "seeds": []map[string]string{{"chain": "eth", "seed": "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"}},
	}), &c); err != nil {
		t.Fatal(err)
	}
	path := "/v1/cases/" + c.ID
	// Roles: a screening key never reaches cases; bob is not on the case
	// and gets the same 404 as for a case that does not exist.
	if resp, _ := f.do(t, "GET", "/v1/cases", f.screen, nil); resp.StatusCode != 403 {
		t.Errorf("screen key: %s", resp.Status)
	}
	_, missing := f.do(t, "GET", "/v1/cases/0000000000000000", f.bob, nil)
	resp, hidden := f.do(t, "GET", path, f.bob, nil)
	if resp.StatusCode != 404 || decodeError(t, hidden).Error.Message != decodeError(t, missing).Error.Message {
		t.Errorf("bob: %s %s (missing: %s)", resp.Status, hidden, missing)
	}
	if resp, _ := f.do(t, "POST", path+"/notes", f.bob, map[string]string{"text": "x"}); resp.StatusCode != 404 {
		t.Errorf("bob wrote a note: %s", resp.Status)
	}
	f.must(t, 200, "GET", path, f.root, nil)
	var list struct{ Cases []cases.Summary }
	json.Unmarshal(f.must(t, 200, "GET", "/v1/cases", f.bob, nil), &list)
	if len(list.Cases) != 0 {
		t.Errorf("bob lists %d cases", len(list.Cases))
	}

	// Changes, with the version guarding against lost updates.
	json.Unmarshal(f.must(t, 200, "PATCH", path, f.alice, map[string]any{"version": c.Version, "keys": []string{"bob"}}), &c)
	if resp, b := f.do(t, "PATCH", path, f.bob, map[string]any{"version": 1, "title": "stale"}); resp.StatusCode != 409 {
		t.Errorf("stale update: %s %s", resp.Status, b)
	}
	f.must(t, 200, "POST", path+"/notes", f.bob, map[string]string{"text": "<script>alert(1)</script>"})
	f.must(t, 200, "POST", path+"/addresses", f.bob, map[string]any{"chain": "eth", "address": "0x47666fab8bd0ac7003bce3f5c3585383f09486e2", "role": "theft", "share": true})
	if resp, b := f.do(t, "POST", path+"/addresses", f.bob, map[string]any{"chain": "eth", "address": "0x47666fab8bd0Ac7003bce3f5C3585383F09486E2"}); resp.StatusCode != 400 || !strings.Contains(string(b), "checksum") {
		t.Errorf("a wrong checksum: %s %s", resp.Status, b)
	}
	if resp, _ := f.do(t, "POST", path+"/notes", f.bob, map[string]any{"text": "x", "extra": 1}); resp.StatusCode != 400 {
		t.Errorf("an unknown field: %s", resp.Status)
	}
	f.must(t, 200, "POST", path+"/alerts", f.alice, map[string]string{"id": "al-1", "watch": "bybit"})
	f.must(t, 200, "POST", path+"/watches", f.alice, map[string]string{"name": "bybit"})
	f.must(t, 200, "POST", path+"/seeds", f.alice, map[string]string{"chain": "btc", "seed": "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"})

	// Traces: one run by the node, then rerun from the saved request.
	var saved struct {
		Case    cases.Case
		Version cases.TraceVersion
	}
	json.Unmarshal(f.must(t, 201, "POST", path+"/traces", f.alice, map[string]any{"name": "theft", "request": map[string]any{"chain": "eth", "seeds": []string{"0x47666fab8bd0ac7003bce3f5c3585383f09486e2"}}}), &saved)
	if f.runs(t) != 1 || saved.Version.Version != 1 || saved.Version.Summary.Tainted.String() != "401346000000000000000000" {
		t.Errorf("saved %+v after %d runs", saved.Version, f.runs(t))
	}
	json.Unmarshal(f.must(t, 201, "POST", path+"/traces/t1/versions", f.alice, map[string]any{}), &saved)
	if f.runs(t) != 2 || saved.Version.Version != 2 {
		t.Errorf("rerun %+v after %d runs", saved.Version, f.runs(t))
	}
	resp, body := f.do(t, "GET", path+"/traces/t1/versions/latest", f.alice, nil)
	var res trace.Result
	if resp.StatusCode != 200 || json.Unmarshal(body, &res) != nil || res.Through != 2 || resp.Header.Get("X-Trace-Version") != "2" {
		t.Errorf("latest result: %s %.200s", resp.Status, body)
	}
	if resp, _ := f.do(t, "POST", path+"/traces", f.alice, map[string]any{"request": map[string]any{"seeds": []string{"x"}}}); resp.StatusCode != 400 {
		t.Errorf("a bad trace request: %s", resp.Status)
	}

	// Freeze requests move through their statuses; amounts are exact.
	var fr struct{ Freeze cases.Freeze }
	json.Unmarshal(f.must(t, 201, "POST", path+"/freezes", f.alice, map[string]any{"service": "Exchange 12", "chain": "eth",
		"address": "0x47666fab8bd0ac7003bce3f5c3585383f09486e2", "requested": "401346000000000000000001"}), &fr)
	fp := path + "/freezes/" + fr.Freeze.ID
	f.must(t, 200, "PATCH", fp, f.alice, map[string]string{"status": "sent"})
	if resp, _ := f.do(t, "PATCH", fp, f.alice, map[string]string{"status": "released"}); resp.StatusCode != 400 {
		t.Errorf("sent to released: %s", resp.Status)
	}
	json.Unmarshal(f.must(t, 200, "PATCH", fp, f.alice, map[string]string{"status": "frozen", "amount": "18446744073709551617"}), &fr)
	if fr.Freeze.Frozen.String() != "18446744073709551617" {
		t.Errorf("frozen %s", fr.Freeze.Frozen)
	}
	if resp, _ := f.do(t, "PATCH", fp, f.alice, map[string]string{"status": "released", "amount": "1.5"}); resp.StatusCode != 400 {
		t.Errorf("a fractional amount: %s", resp.Status)
	}

	// Attachments: sniffed, served as downloads that cannot run.
	var at struct{ Attachment cases.Attachment }
	json.Unmarshal(f.must(t, 201, "POST", path+"/attachments?name=evidence.png", f.alice, []byte("<html><script>alert(1)</script></html>")), &at)
	resp, body = f.do(t, "GET", path+"/attachments/"+at.Attachment.ID, f.alice, nil)
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || string(body) != "<html><script>alert(1)</script></html>" {
		t.Errorf("attachment: %s %v %q", resp.Status, h, body)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "../statement.txt")
	fw.Write([]byte("statement of the victim"))
	mw.Close()
	req, _ := http.NewRequest("POST", f.srv.URL+path+"/attachments", &mp)
	req.Header.Set("Authorization", "Bearer "+f.alice)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, err := f.srv.Client().Do(req); err != nil || resp.StatusCode != 201 {
		t.Errorf("multipart upload: %v %v", err, resp.Status)
	}
	if resp, _ := f.do(t, "POST", path+"/attachments?name=big", f.alice, make([]byte, 5000)); resp.StatusCode != 413 {
		t.Errorf("an attachment over the limit: %s", resp.Status)
	}

	// Reports.
	resp, body = f.do(t, "GET", path+"/report", f.alice, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != cases.ReportCSP || strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;") {
		t.Errorf("HTML report: %s %v", resp.Status, resp.Header)
	}
	resp, body = f.do(t, "GET", path+"/report?format=pdf", f.alice, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Errorf("PDF report: %s %v", resp.Status, resp.Header)
	}
	if resp, _ := f.do(t, "POST", path+"/publish", f.alice, map[string]string{"collection": "x"}); resp.StatusCode != 501 {
		t.Errorf("publish without a publisher: %s", resp.Status)
	}

	// The timeline tells the story, bob's refusals included.
	var tl struct{ Timeline []audit.Entry }
	json.Unmarshal(f.must(t, 200, "GET", path+"/timeline", f.alice, nil), &tl)
	var acts []string
	for _, e := range tl.Timeline {
		acts = append(acts, e.Actor+":"+e.Action)
	}
	got := strings.Join(acts, " ")
	for _, want := range []string{"alice:case.create", "bob:case.denied", "alice:case.update", "bob:case.note", "alice:case.trace", "alice:case.freeze.frozen", "alice:case.attach", "alice:case.export"} {
		if !strings.Contains(got, want) {
			t.Errorf("timeline lacks %s: %s", want, got)
		}
	}
}

func TestCasesClearance(t *testing.T) {
	f := newCaseFixture(t)
	// A trace key is cleared for AMBER: it cannot open a RED case, and
	// an admin's RED case stays hidden from it even when it is named.
	if resp, _ := f.do(t, "POST", "/v1/cases", f.alice, map[string]any{"reference": "R", "title": "t", "tlp": "red"}); resp.StatusCode != 400 {
		t.Errorf("alice opened a RED case: %s", resp.Status)
	}
	var c cases.Case
	json.Unmarshal(f.must(t, 201, "POST", "/v1/cases", f.root, map[string]any{"reference": "R", "title": "t", "tlp": "red", "keys": []string{"alice"}}), &c)
	if c.TLP != intel.TLPRed {
		t.Fatalf("tlp %v", c.TLP)
	}
	if resp, _ := f.do(t, "GET", "/v1/cases/"+c.ID, f.alice, nil); resp.StatusCode != 404 {
		t.Errorf("alice read a RED case: %s", resp.Status)
	}
}
