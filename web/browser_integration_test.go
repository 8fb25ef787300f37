//go:build integration

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/web"
)

// The browser tests drive Debian's Chromium (never a downloaded build)
// against a real tracehound demo on loopback: the real OFAC list, tags,
// Bitcoin blocks and the simulated theft. Until the node serves the web
// interface and cases itself, the test puts them in front of it: an
// api.Server with sessions, cases and the embedded interface, passing the
// data endpoints through to the demo with the same key.

const lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

// hostile strings a partner, a tag pack or a colleague could send.
var hostile = []string{
	`<img src=x onerror="window.__pwned='img'">`,
	`<script>window.__pwned='script'</script>`,
	`javascript:window.__pwned='link'`,
	`"><svg onload="window.__pwned='svg'">`,
}

type demo struct {
	url, key, theftTx string
	// bin is the tracehound binary the demo runs, and partners the
	// secrets of the partner keys that may write to its "shared"
	// collection, by key name.
	bin      string
	partners map[string]string
}

// partnerNames are the names partners' keys carry: one ordinary, one
// markup.
var partnerNames = []string{"kr-exchange", hostile[1]}

// startDemo builds tracehound and runs `tracehound demo` on a free port,
// with a key the test made, and returns once it serves.
func startDemo(t *testing.T, ctx context.Context, shared string) (demo, auth.Key) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "tracehound")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tracehound")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// TRACEHOUND_DEMO_DATA keeps the demo's store between runs: the demo
	// imports nothing it already holds, so a second run starts at once.
	data := os.Getenv("TRACEHOUND_DEMO_DATA")
	if data == "" {
		data = t.TempDir()
	}
	os.Remove(filepath.Join(data, "demo-api-key"))
	k, secret, err := auth.NewKey("investigator", []auth.Role{auth.RoleScreen, auth.RoleTrace, auth.RoleAdmin, auth.RoleMetrics}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	partners := map[string]string{}
	for _, name := range partnerNames {
		pk, ps, err := auth.NewKey(name, []auth.Role{auth.RoleTAXIIRead, auth.RoleTAXIIWrite}, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutKey(ctx, pk); err != nil {
			t.Fatal(err)
		}
		partners[name] = ps
	}
	if err := db.PutTAXIICollection(ctx, taxii.Collection{ID: "shared", Title: "Shared with partners", CanRead: []string{"*"}, CanWrite: partnerNames}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.WriteFile(filepath.Join(data, "demo-api-key"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "--data", data, "--log-level", "warn", "demo", "--addr", "127.0.0.1:0", "--shared-data", shared)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	up := make(chan demo, 1)
	go func() {
		var d demo
		sc := bufio.NewScanner(stdout)
		serving := regexp.MustCompile(`serving on (\S+)`)
		theft := regexp.MustCompile(`"chain":"eth","seeds":\["(0x[0-9a-f]+)"\]`)
		for sc.Scan() {
			line := sc.Text()
			if m := serving.FindStringSubmatch(line); m != nil {
				d.url = m[1]
				if !strings.HasPrefix(d.url, "http") {
					d.url = "http://" + d.url
				}
			}
			if m := theft.FindStringSubmatch(line); m != nil {
				d.theftTx = m[1]
			}
			if strings.Contains(line, "Stop with Ctrl-C") {
				up <- d
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case d := <-up:
		d.key, d.bin, d.partners = secret, bin, partners
		if u, err := url.Parse(d.url); err != nil || !strings.HasPrefix(u.Host, "127.0.0.1:") || d.theftTx == "" {
			t.Fatalf("the demo printed no address or theft: %+v", d)
		}
		return d, k
	case <-time.After(8 * time.Minute):
		t.Fatalf("demo not serving after 8 minutes\n%s", stderr.String())
	}
	return demo{}, k
}

// front serves the workspace (sessions, cases, the interface) and passes
// the rest to the demo, authenticating the browser's session first.
type front struct {
	ws     *api.Server
	proxy  *httputil.ReverseProxy
	secret string
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/v1/session" || p == "/v1/cases" || strings.HasPrefix(p, "/v1/cases/") || p == "/v1/intel/feed" || !strings.HasPrefix(p, "/v1/") {
		f.ws.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("Authorization") == "" {
		k, csrf, ok := f.ws.Sessions().Resolve(auth.SessionID(r))
		if !ok || k == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"code":"unauthenticated","message":"sign in"}}`)
			return
		}
		if r.Method != "GET" && r.Method != "HEAD" && (r.Header.Get(auth.CSRFHeader) != csrf || !auth.SameOrigin(r)) {
			w.WriteHeader(403)
			return
		}
		r.Header.Set("Authorization", "Bearer "+f.secret)
	}
	f.proxy.ServeHTTP(w, r)
}

func newFront(t *testing.T, ctx context.Context, d demo, k auth.Key) string {
	t.Helper()
	// A node that serves the interface itself needs no front.
	if resp, err := http.Get(d.url + "/"); err == nil {
		ct := resp.Header.Get("Content-Type")
		resp.Body.Close()
		if strings.HasPrefix(ct, "text/html") {
			partnersShare(t, d)
			return d.url
		}
	}
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := cases.NewService(cases.Config{Store: db, Audit: audit.New(db), Parser: registry.NewParser()})
	if err != nil {
		t.Fatal(err)
	}
	ws := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{k}), Cases: svc, Web: web.Handler()})
	// What partners shared, as the node's feed will serve it, names
	// and all.
	ws.Handle("GET /v1/intel/feed", auth.RoleScreen, func(w http.ResponseWriter, r *http.Request) {
		var objs []map[string]string
		for i, s := range hostile {
			objs = append(objs, map[string]string{"partner": s, "tlp": "TLP:GREEN", "time": "2025-02-22T10:00:00Z", "type": "indicator", "name": s + strings.Repeat("x", 10_000*i)})
		}
		objs = append(objs, map[string]string{"partner": "kr-exchange", "tlp": "TLP:AMBER", "time": "2025-02-22T11:00:00Z", "type": "report", "name": "Bybit theft deposit addresses"})
		json.NewEncoder(w).Encode(map[string]any{"objects": objs})
	})
	u, _ := url.Parse(d.url)
	srv := httptest.NewServer(&front{ws: ws, proxy: httputil.NewSingleHostReverseProxy(u), secret: d.key})
	t.Cleanup(srv.Close)
	return srv.URL
}

// partnersShare has each partner publish a report over the demo's TAXII
// API, as a partner's node would, so that the feed holds their names.
func partnersShare(t *testing.T, d demo) {
	t.Helper()
	dir := t.TempDir()
	for i, name := range partnerNames {
		csv := filepath.Join(dir, fmt.Sprint(i, ".csv"))
		if err := os.WriteFile(csv, []byte(fmt.Sprintf("chain,address,role\neth,0x%040x,thief\n", 0xbeef+i)), 0o600); err != nil {
			t.Fatal(err)
		}
		report, tlp := hostile[0], "green"
		if name == "kr-exchange" {
			report, tlp = "Bybit theft deposit addresses", "amber"
		}
		cmd := exec.Command(d.bin, "intel", "publish", csv, "--server", d.url, "--collection", "shared", "--tlp", tlp, "--name", report, "--creator", name)
		cmd.Env = append(os.Environ(), "TRACEHOUND_API_KEY="+d.partners[name])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s publishes: %v\n%s", name, err, out)
		}
	}
}

// call uses the API with the key, as a script would.
func call(t *testing.T, base, key, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func browser(t *testing.T) (context.Context, *[]string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	var dialogs []string
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	opened := make(chan string, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			select {
			case opened <- e.Message:
			default:
			}
		case *runtime.EventExceptionThrown:
			t.Logf("page exception: %s %s", e.ExceptionDetails.Text, describe(e.ExceptionDetails.Exception))
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range opened {
			dialogs = append(dialogs, m)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx, &dialogs
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		failure(t, ctx, what)
		t.Fatalf("%s: %v", what, err)
	}
}

// failure keeps what the page showed when a step failed.
func failure(t *testing.T, ctx context.Context, what string) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	name := filepath.Join(os.TempDir(), "tracehound-browser-"+regexp.MustCompile(`\W+`).ReplaceAllString(what, "-"))
	if b, err := chromedp.Run(c, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(name+".png", b, 0o644)
	}
	if txt, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`)); err == nil {
		t.Logf("page at the failure (screenshot in %s.png):\n%.3000s", name, txt)
	}
}

// value runs one action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return value(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return value(t, ctx, name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return value(t, ctx, js, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	eval[int](t, ctx, `window.scrollTo(0, 0); 0`)
	run(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	buf := value(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join("..", "docs", name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pwned reads what any injected script would have set.
func pwned(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `String(window.__pwned ?? "")`)
}

func TestBrowser(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		chaintest.Missing(t, "no /usr/bin/chromium (scripts/test.sh installs Debian's)")
	}
	shared := chaintest.SharedData(t)
	chaintest.SharedData(t, "ofac")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, k := startDemo(t, ctx, shared)
	base := newFront(t, ctx, d, k)
	bctx, dialogs := browser(t)
	shots := os.Getenv("TRACEHOUND_SCREENSHOTS") != ""

	// Sign in.
	run(t, bctx, "sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#key`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), d.key),
		chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/screen"]`)),
	)
	stored := eval[string](t, bctx, `JSON.stringify({...localStorage, ...sessionStorage}) + document.cookie`)
	if strings.Contains(stored, d.key) {
		t.Error("the API key stayed in the browser")
	}

	// Hostile tags: a tag pack whose names are markup and links.
	victim := "0x1111111111111111111111111111111111111111"
	pack := fmt.Sprintf("title: %q\ncreator: %q\ncurrency: ETH\ncategory: exchange\nconfidence: ownership\nlastmod: 2025-02-22\nlabel: %q\ntags:\n- address: %s\n  source: %q\n",
		hostile[1], hostile[0], hostile[0]+strings.Repeat("A", 20_000), victim, hostile[2])
	call(t, d.url, d.key, "POST", "/v1/admin/tags?name=hostile.yaml", []byte(pack), nil)

	// Screening: a sanctioned address and the hostile one.
	run(t, bctx, "screen",
		chromedp.Navigate(base+"/screen"),
		chromedp.WaitVisible(chromedp.CSS(`#screen-input`)),
		chromedp.SendKeys(chromedp.CSS(`#screen-input`), lazarus+"\n"+victim+"\n0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`table.screen-results`)),
	)
	results := text(t, bctx, `table.screen-results`)
	if !strings.Contains(results, "SANCTIONED") || !strings.Contains(results, "severe") {
		t.Errorf("Lazarus did not screen as sanctioned:\n%s", results)
	}
	if shots {
		screenshot(t, bctx, "web-screening.png")
	}
	run(t, bctx, "address page",
		chromedp.Navigate(base+"/address/eth/"+victim),
		chromedp.WaitVisible(chromedp.CSS(`.screening table`)),
	)
	page := text(t, bctx, `main`)
	if !strings.Contains(page, hostile[0][:20]) {
		t.Errorf("the hostile tag is not shown as text:\n%.500s", page)
	}
	run(t, bctx, "sanctioned address page", chromedp.Navigate(base+"/address/eth/"+lazarus), chromedp.WaitVisible(chromedp.CSS(`.screening table`)))
	if shots {
		screenshot(t, bctx, "web-address.png")
	}

	// The demo theft: run its trace from the page.
	start := time.Now()
	run(t, bctx, "trace",
		chromedp.Navigate(base+"/trace?chain=eth&hops=30&run=1&seeds="+d.theftTx),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="1"]`)),
	)
	t.Logf("trace run and drawn from the page in %s", time.Since(start).Round(time.Millisecond))
	before := attr(t, bctx, `#graph`, "data-nodes")
	// Expand a hop: every hop's "open" button expands it in the graph.
	run(t, bctx, "expand",
		chromedp.Click(chromedp.CSS(`table.hops tbody tr:nth-child(3) button`)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Click(chromedp.CSS(`.graph-tools button`)), // expand all
		chromedp.Sleep(500*time.Millisecond),
	)
	after := attr(t, bctx, `#graph`, "data-nodes")
	collapsed := attr(t, bctx, `#graph`, "data-collapsed")
	if nb, na := atoi(before), atoi(after); collapsed != "0" || na < nb || na == 0 {
		t.Errorf("expanding: %s nodes before, %s after, %s hops collapsed", before, after, collapsed)
	}
	// The endpoint with the most taint: its path and transactions.
	run(t, bctx, "select endpoint",
		chromedp.Click(chromedp.CSS(`table.endpoints tbody tr:first-child a.endpoint-link`)),
		chromedp.WaitVisible(chromedp.CSS(`aside.side ol.path li`)),
	)
	if shots {
		screenshot(t, bctx, "web-trace.png")
	}
	// Create a case from the endpoint, with the trace saved in it.
	run(t, bctx, "create case",
		chromedp.Click(chromedp.CSS(`aside.side .actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog form.new-case input[name=reference]`)),
		chromedp.SendKeys(chromedp.CSS(`dialog form.new-case input[name=reference]`), "BYBIT-DEMO"),
		chromedp.SetValue(chromedp.CSS(`dialog form.new-case input[name=title]`), "Simulated Bybit-style theft: funds at a bridge"),
		chromedp.Click(chromedp.CSS(`dialog form.new-case button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.case-head`)),
	)
	casePath := eval[string](t, bctx, `location.pathname`)
	caseID := strings.TrimPrefix(casePath, "/cases/")
	var c cases.Case
	call(t, base, d.key, "GET", "/v1/cases/"+caseID, nil, &c)
	if len(c.Addresses) != 1 || len(c.Traces) != 1 || len(c.Seeds) != 1 {
		t.Fatalf("case from the endpoint: %d addresses, %d traces, %d seeds", len(c.Addresses), len(c.Traces), len(c.Seeds))
	}
	// Draft a freeze request for it, in ETH, and send it.
	run(t, bctx, "draft freeze",
		chromedp.SendKeys(chromedp.CSS(`form.inline input[placeholder^="Service"]`), "exchange-01"),
		chromedp.SetValue(chromedp.CSS(`form.inline input[placeholder="Address"]`), c.Addresses[0].Address),
		chromedp.SendKeys(chromedp.CSS(`form.inline input[placeholder^="Requested"]`), "1.5"),
		chromedp.Click(chromedp.CSS(`form.inline input[placeholder^="Requested"] ~ button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.freezes .freeze-drafted`)),
		chromedp.Click(chromedp.CSS(`table.freezes .freeze-actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.freezes .freeze-sent`)),
	)
	call(t, base, d.key, "GET", "/v1/cases/"+caseID, nil, &c)
	if len(c.Freezes) != 1 || c.Freezes[0].Requested.String() != "1500000000000000000" || c.Freezes[0].Status != "sent" {
		t.Errorf("freeze request %+v", c.Freezes)
	}
	// Hostile notes, a half-typed note kept across a lost session.
	for _, s := range append(hostile, strings.Repeat("long ", 12_000)) {
		call(t, base, d.key, "POST", "/v1/cases/"+caseID+"/notes", map[string]string{"text": s}, nil)
	}
	call(t, base, d.key, "POST", "/v1/cases/"+caseID+"/addresses", map[string]any{"chain": "eth", "address": victim, "role": "other", "note": hostile[3]}, nil)
	run(t, bctx, "case page", chromedp.Navigate(base+casePath), chromedp.WaitVisible(chromedp.CSS(`#note`)), chromedp.WaitVisible(chromedp.CSS(`table.timeline`)))
	if shots {
		screenshot(t, bctx, "web-case.png")
	}
	run(t, bctx, "type a note", chromedp.SendKeys(chromedp.CSS(`#note`), "half-typed: funds at exchange-01"))
	// The session ends (signed out elsewhere): the next request sends the
	// page to sign-in, and the draft survives.
	csrf := eval[string](t, bctx, `fetch("/v1/session").then(r => r.json()).then(j => j.csrf_token || "")`)
	status := eval[int](t, bctx, fmt.Sprintf(`fetch("/v1/session", {method: "DELETE", headers: {"X-CSRF-Token": %q}}).then(r => r.status)`, csrf))
	if status != 204 {
		t.Fatalf("signing out behind the page: %d", status)
	}
	run(t, bctx, "add the note", chromedp.Click(chromedp.CSS(`#note ~ button`)), chromedp.WaitVisible(chromedp.CSS(`#key`)))
	run(t, bctx, "sign in again",
		chromedp.SendKeys(chromedp.CSS(`#key`), d.key),
		chromedp.Click(chromedp.CSS(`form.signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#note`)),
	)
	draft := value(t, bctx, "draft", chromedp.Value(chromedp.CSS(`#note`)))
	if draft != "half-typed: funds at exchange-01" {
		t.Errorf("the draft after signing in again: %q", draft)
	}

	// The other views, with partners' names as they come.
	run(t, bctx, "intel", chromedp.Navigate(base+"/intel"), chromedp.WaitVisible(chromedp.CSS(`table.intel`)))
	intel := text(t, bctx, `table.intel`)
	if !strings.Contains(intel, "<script>") || !strings.Contains(intel, "kr-exchange") {
		t.Errorf("intel feed:\n%.400s", intel)
	}
	run(t, bctx, "alerts", chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS(`.alerts`)))
	run(t, bctx, "cases", chromedp.Navigate(base+"/cases"), chromedp.WaitVisible(chromedp.CSS(`table.cases`)))
	// Japanese and Korean.
	for lang, want := range map[string]string{"ja": "事件", "ko": "사건"} {
		run(t, bctx, lang, chromedp.SetValue(chromedp.CSS(`header select`), lang))
		eval[bool](t, bctx, `document.querySelector("header select").dispatchEvent(new Event("change"))`)
		run(t, bctx, "settle", chromedp.Sleep(300*time.Millisecond))
		nav := text(t, bctx, `header nav`)
		if !strings.Contains(nav, want) {
			t.Errorf("%s navigation: %q", lang, nav)
		}
	}
	run(t, bctx, "english", chromedp.SetValue(chromedp.CSS(`header select`), "en"))
	eval[bool](t, bctx, `document.querySelector("header select").dispatchEvent(new Event("change"))`)

	if v := pwned(t, bctx); v != "" {
		t.Errorf("injected script ran: %s", v)
	}
	if len(*dialogs) > 0 {
		t.Errorf("dialogs opened: %q", *dialogs)
	}
	if os.Getenv("TRACEHOUND_BROWSER_BENCH") != "" {
		measure(t, bctx, base, d.key, caseID)
	}
	if shots {
		eval[int](t, bctx, `fetch("/v1/session").then(r=>r.json()).then(j=>fetch("/v1/session",{method:"DELETE",headers:{"X-CSRF-Token":j.csrf_token}})).then(r=>r.status)`)
		run(t, bctx, "sign-in page", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.CSS(`#key`)))
		screenshot(t, bctx, "web-signin.png")
	}
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// measure records the interface's speed figures (BENCHMARKS.md): the
// first view of the demo theft's saved trace, from navigation to an
// interactive graph, and the frame rate of a 10,000-address graph while
// it is dragged and zoomed with real input events.
func measure(t *testing.T, ctx context.Context, base, key, caseID string) {
	var firsts []int
	for range 5 {
		run(t, ctx, "first view",
			chromedp.Navigate(base+"/cases/"+caseID+"/traces/t1/1"),
			chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="1"]`)))
		firsts = append(firsts, atoi(attr(t, ctx, `#graph`, "data-ready-ms")))
	}
	nodes := attr(t, ctx, `#graph`, "data-nodes")
	slices.Sort(firsts)
	t.Logf("BENCH first view of the demo theft trace (%s addresses drawn): median %d ms, min %d, max %d (navigation to interactive)", nodes, firsts[len(firsts)/2], firsts[0], firsts[len(firsts)-1])

	// A 10,000-address trace: 25 hops of 400, each address paid by one
	// or two of the hop before.
	big := synthetic(10_000, 25)
	call(t, base, key, "POST", "/v1/cases/"+caseID+"/traces", map[string]any{"name": "synthetic 10k", "request": map[string]any{"chain": "eth", "seeds": []string{"0xseed"}}, "result": big}, nil)
	var c cases.Case
	call(t, base, key, "GET", "/v1/cases/"+caseID, nil, &c)
	tr := c.Traces[len(c.Traces)-1].ID
	run(t, ctx, "10k view",
		chromedp.Navigate(base+"/cases/"+caseID+"/traces/"+tr+"/1"),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="1"]`)))
	ms := attr(t, ctx, `#graph`, "data-ready-ms")
	start := time.Now()
	run(t, ctx, "10k expand", chromedp.Click(chromedp.CSS(`.graph-tools button`)), chromedp.WaitVisible(chromedp.CSS(`#graph[data-collapsed="0"]`)))
	nodes = attr(t, ctx, `#graph`, "data-nodes")
	t.Logf("BENCH 10,000-address trace: first (collapsed) view %s ms; all %s addresses drawn in %s", ms, nodes, time.Since(start).Round(time.Millisecond))
	box := eval[[]float64](t, ctx, `(() => { const r = document.querySelector("#graph").getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`)
	cx, cy := box[0]+box[2]/2, box[1]+box[3]/2
	for _, what := range []string{"pan", "zoom"} {
		eval[int](t, ctx, `window.__frames = 0; window.__t0 = performance.now(); (function f() { window.__frames++; window.__t1 = performance.now(); if (window.__t1 - window.__t0 < 4000) requestAnimationFrame(f); })(); 0`)
		var acts []chromedp.Action[chromedp.Void]
		if what == "pan" {
			acts = append(acts, chromedp.MouseEvent(chromedp.MousePressed, cx, cy, chromedp.ButtonLeft))
			for i := range 80 {
				dx := 200 * math.Sin(float64(i)/12)
				acts = append(acts, chromedp.MouseEvent(chromedp.MouseMoved, cx+dx, cy+dx/2, chromedp.ButtonLeft), chromedp.Sleep(25*time.Millisecond))
			}
			acts = append(acts, chromedp.MouseEvent(chromedp.MouseReleased, cx, cy, chromedp.ButtonLeft))
		} else {
			for i := range 40 {
				dy := 120.0
				if i%20 >= 10 {
					dy = -120
				}
				acts = append(acts, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: chromedp.MouseWheel, X: cx, Y: cy, DeltaY: dy})
					return err
				}), chromedp.Sleep(50*time.Millisecond))
			}
		}
		// A figure, not a check: a slow phase is recorded as such.
		c, cancel := context.WithTimeout(ctx, 2*time.Minute)
		began := time.Now()
		err := chromedp.Do(c, acts...)
		cancel()
		if err != nil {
			t.Logf("BENCH 10,000-address graph %s: %d input events not delivered within %s (%v)", what, len(acts), time.Since(began).Round(time.Second), err)
			continue
		}
		run(t, ctx, "settle", chromedp.Sleep(time.Second))
		r := eval[[]float64](t, ctx, `[window.__frames, window.__t1 - window.__t0]`)
		t.Logf("BENCH 10,000-address graph %s: %.0f frames in %.0f ms = %.1f frames/s (input took %s)", what, r[0], r[1], r[0]/(r[1]/1000), time.Since(began).Round(time.Millisecond))
	}
}

// synthetic is a trace result of n addresses over hops hops, shaped as
// the trace package writes it.
func synthetic(n, hops int) map[string]any {
	per := n / hops
	addr := func(h, i int) string { return fmt.Sprintf("0x%020x%020x", h, i) }
	var nodes, edges []map[string]any
	var hopList []map[string]any
	t0 := time.Date(2025, 2, 21, 14, 13, 0, 0, time.UTC)
	for h := 0; h < hops; h++ {
		for i := 0; i < per; i++ {
			nd := map[string]any{"address": addr(h, i), "hop": h, "received": "1000000000000000000", "sent": "1000000000000000000", "remaining": "0"}
			if h == 0 {
				nd["seed"] = true
			}
			if h == hops-1 && i%10 == 0 {
				nd["label"] = map[string]string{"entity": "exchange-" + strconv.Itoa(i%7), "category": "exchange", "heuristic": "deposit-address"}
			}
			nodes = append(nodes, nd)
			if h == 0 {
				continue
			}
			for j, from := range []int{i, (i*7 + 3) % per} {
				if j == 1 && i%2 == 0 {
					continue
				}
				edges = append(edges, map[string]any{"tx": fmt.Sprintf("0x%064x", h*per*2+i*2+j), "block": 21895000 + h, "time": t0.Add(time.Duration(h) * time.Minute).Format(time.RFC3339),
					"from": addr(h-1, from), "to": addr(h, i), "amount": "1000000000000000000", "tainted": strconv.Itoa(1+(i*j)%1000) + "000000000000000", "hop": h})
			}
		}
		hopList = append(hopList, map[string]any{"hop": h, "addresses": per, "transfers": per, "tainted": "1000000000000000000"})
	}
	return map[string]any{"chain": "eth", "tainted": "400000000000000000000", "nodes": nodes, "edges": edges, "endpoints": []any{}, "hops": hopList, "through_block": 21895100}
}
