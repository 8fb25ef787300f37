package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/taxii"
)

// xnode is one tracehound in the exercise.
type xnode struct {
	name, data, url string
	keys            map[string]string
	stdout          bytes.Buffer
	done            chan error
	tls             serveOptions // TLS files, if the xnode serves HTTPS
	client          *http.Client // how tests reach it
}

func newNode(t testing.TB, name string) *xnode {
	port, err := nodetest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return &xnode{name: name, data: filepath.Join(t.TempDir(), name), url: "http://127.0.0.1:" + strconv.Itoa(port), keys: map[string]string{}}
}

// key creates a key with roles; a role "clearance=LEVEL" sets its TLP
// clearance instead.
func (n *xnode) key(t testing.TB, name string, roles ...string) string {
	t.Helper()
	args := []string{"--data", n.data, "keys", "create", name}
	for _, r := range roles {
		if level, ok := strings.CutPrefix(r, "clearance="); ok {
			args = append(args, "--clearance", level)
			continue
		}
		args = append(args, "--role", r)
	}
	out, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	n.keys[name] = strings.TrimSpace(out)
	return n.keys[name]
}

func (n *xnode) cli(t testing.TB, args ...string) string {
	t.Helper()
	out, err := run(t, append([]string{"--data", n.data}, args...)...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", n.name, args, err, out)
	}
	return out
}

func (n *xnode) start(ctx context.Context, t testing.TB) {
	t.Helper()
	var stderr bytes.Buffer
	a := &app{dataDir: n.data, stdout: &n.stdout, stderr: &stderr, log: slog.New(slog.DiscardHandler)}
	ready := make(chan struct{})
	n.done = make(chan error, 1)
	o := n.tls
	o.addr, o.poll = strings.TrimPrefix(strings.TrimPrefix(n.url, "http://"), "https://"), 250*time.Millisecond
	go func() {
		n.done <- a.serve(ctx, o, func(string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-n.done:
		t.Fatalf("%s: %v", n.name, err)
	}
}

// flagged asks a xnode's screening API whether it flags the address, and
// returns the answer.
func (n *xnode) flagged(t testing.TB, addr string) (bool, string) {
	t.Helper()
	return n.flaggedFor(t, "screen", addr)
}

// flaggedFor asks as the named key.
func (n *xnode) flaggedFor(t testing.TB, key, addr string) (bool, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url+"/v1/addresses/eth/"+addr, nil)
	req.Header.Set("Authorization", "Bearer "+n.keys[key])
	hc := n.client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `"code":"intel"`), string(b)
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestExerciseThreeNodes: a US agency publishes the Bybit theft as a
// TLP:AMBER report shared with a Japanese and a Korean exchange, plus a
// TLP:RED note. Both exchanges flag the thief's addresses within 2 s; the
// RED note never leaves the agency; a revoked indicator stops flagging; a
// partner without read access is refused and the attempt is audited.
func TestExerciseThreeNodes(t *testing.T) {
	d := sharedData(t)
	us, jp, kr := newNode(t, "us"), newNode(t, "jp"), newNode(t, "kr")
	jpKey := us.key(t, "jp-exchange", "taxii:read")
	krKey := us.key(t, "kr-exchange", "taxii:read")
	outsider := us.key(t, "outsider", "taxii:read")
	analyst := us.key(t, "us-analyst", "taxii:read", "taxii:write", "taxii:publish")
	forger := us.key(t, "kr-writer", "taxii:write")
	us.cli(t, "intel", "identity", "US agency")
	us.key(t, "screen", "screen")
	us.cli(t, "intel", "collection", "add", "bybit", "--title", "Bybit theft indicators", "--read", "jp-exchange,kr-exchange,us-analyst", "--write", "us-analyst,kr-writer")
	for _, n := range []*xnode{jp, kr} {
		// The exchanges' compliance desks read AMBER details; their
		// screening clients keep the default, GREEN.
		n.key(t, "screen", "screen", "clearance=amber")
		n.key(t, "client", "screen")
	}
	jp.cli(t, "intel", "peer", "add", "us-agency", us.url, "--collection", "bybit", "--key", jpKey)
	kr.cli(t, "intel", "peer", "add", "us-agency", us.url, "--collection", "bybit", "--key", krKey)

	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		for _, n := range []*xnode{us, jp, kr} {
			<-n.done
		}
	}()
	for _, n := range []*xnode{us, jp, kr} {
		n.start(ctx, t)
	}

	thief := "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"
	if f, _ := jp.flagged(t, thief); f {
		t.Fatal("flagged before publication")
	}
	t.Setenv("TRACEHOUND_API_KEY", analyst)
	published := time.Now()
	out := us.cli(t, "intel", "publish", filepath.Join(d, "incidents", "bybit-2025-addresses.csv"), "--server", us.url, "--collection", "bybit",
		"--tlp", "amber", "--name", "Bybit theft, February 2025", "--actor", "Lazarus Group", "--alias", "TraderTraitor",
		"--incident", "Bybit theft 2025-02-21", "--creator", "US agency")
	if !strings.Contains(out, "63 addresses") {
		t.Errorf("publish: %s", out)
	}
	for _, n := range []*xnode{jp, kr} {
		d := waitFor(t, n.name+" flags the thief", 2*time.Second, func() bool { f, _ := n.flagged(t, thief); return f })
		_, body := n.flagged(t, thief)
		if !strings.Contains(body, "flagged by us-agency in report Bybit theft, February 2025, TLP:AMBER") {
			t.Errorf("%s explains: %s", n.name, body)
		}
		// A key cleared for GREEN gets the risk, not the AMBER report.
		if f, body := n.flaggedFor(t, "client", thief); !f || strings.Contains(body, "Bybit theft") || strings.Contains(body, "us-agency") ||
			!strings.Contains(body, `"risk":"high"`) || !strings.Contains(body, "restricted intelligence from a partner applies") {
			t.Errorf("%s explains to a GREEN key: %s", n.name, body)
		}
		t.Logf("%s flags the thief %s after publication (%s after the flag was looked for)", n.name, time.Since(published).Round(time.Millisecond), d.Round(time.Millisecond))
	}

	// A TLP:RED note in the same collection is withheld from every partner.
	c := taxii.NewClient(us.url, taxii.DefaultAPIRoot, analyst, nil)
	note := &intel.Note{Content: "source: sensitive", ObjectRefs: []string{intel.NewID(intel.TypeIncident)}}
	note.Common = newTestCommon(intel.TypeNote, intel.TLPRed)
	raw, _ := json.Marshal(note)
	if st, err := c.Add(ctx, "bybit", []json.RawMessage{raw, mustJSON(t, intel.TLPRed.Marking())}); err != nil || st.FailureCount > 0 {
		t.Fatalf("add red note: %+v %v", st, err)
	}
	jpClient := taxii.NewClient(us.url, taxii.DefaultAPIRoot, jpKey, nil)
	time.Sleep(600 * time.Millisecond) // two poll intervals
	res, _, err := jpClient.Objects(ctx, "bybit", time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if o.ID == note.ID {
			t.Fatal("the RED note was served to the Japanese exchange")
		}
	}

	// Revoking the thief's indicator stops the flag.
	var ind intel.Indicator
	all, _, err := c.Objects(ctx, "bybit", time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all.Objects {
		var probe intel.Indicator
		if json.Unmarshal(o.Raw, &probe) == nil && probe.Type == intel.TypeIndicator && strings.Contains(probe.Pattern, thief) {
			ind = probe
		}
	}
	if ind.ID == "" {
		t.Fatal("no indicator for the thief")
	}
	ind.Revoked = true
	ind.Modified = intel.NewTimestamp(time.Now().Add(time.Second))
	raw, _ = json.Marshal(&ind)
	if st, err := c.Add(ctx, "bybit", []json.RawMessage{raw}); err != nil || st.FailureCount > 0 {
		t.Fatalf("revoke: %+v %v", st, err)
	}
	for _, n := range []*xnode{jp, kr} {
		waitFor(t, n.name+" drops the revoked flag", 2*time.Second, func() bool { f, _ := n.flagged(t, thief); return !f })
	}
	if f, _ := jp.flagged(t, "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"); !f {
		t.Error("revoking one indicator dropped another")
	}

	// A partner posting in the agency's name is refused: forged.
	forged, _ := json.Marshal(&intel.Indicator{Common: func() intel.Common {
		c := newTestCommon(intel.TypeIndicator, intel.TLPGreen)
		c.CreatedByRef = intel.IdentityFor("US agency").ID
		return c
	}(), Pattern: "[cryptocurrency-wallet:value = '0x00000000000000000000000000000000000bad01']", PatternType: "stix", ValidFrom: intel.NewTimestamp(time.Now())})
	st, err := taxii.NewClient(us.url, taxii.DefaultAPIRoot, forger, nil).Add(ctx, "bybit", []json.RawMessage{forged})
	if err != nil || st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "forged") {
		t.Errorf("forged indicator: %+v %v", st, err)
	}

	// A partner the collection does not name is refused, and audited.
	_, _, err = taxii.NewClient(us.url, taxii.DefaultAPIRoot, outsider, nil).Objects(ctx, "bybit", time.Time{}, 10)
	if taxii.StatusCode(err) != http.StatusForbidden {
		t.Errorf("outsider: %v", err)
	}
	cancel()
	for _, n := range []*xnode{us, jp, kr} {
		<-n.done
		n.done <- nil
	}
	audit := us.cli(t, "intel", "audit", "show")
	for _, want := range []string{"outsider\ttaxii.denied", "jp-exchange\ttaxii.objects.served", "taxii.objects.withheld"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the agency's audit lacks %q", want)
		}
	}
	if out := us.cli(t, "intel", "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

func newTestCommon(typ string, tlp intel.TLP) intel.Common {
	now := intel.NewTimestamp(time.Now().UTC().Truncate(time.Millisecond))
	return intel.Common{Type: typ, SpecVersion: intel.SpecVersion, ID: intel.NewID(typ), Created: now, Modified: now, ObjectMarkingRefs: []string{tlp.MarkingID()}}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIntelImport imports a MISP event export and a hostile STIX bundle
// into a collection and screens a wallet the MISP event names.
func TestIntelImport(t *testing.T) {
	n := newNode(t, "xnode")
	n.cli(t, "intel", "collection", "add", "imports")
	dir := t.TempDir()
	misp := filepath.Join(dir, "event.json")
	must(t, os.WriteFile(misp, []byte(`{"Event": {"info": "Lazarus cash-out", "uuid": "5f6d8c1e-0000-4000-8000-000000000002", "date": "2025-03-01",
 "Orgc": {"name": "CERT-X"}, "Tag": [{"name": "tlp:green"}],
 "Object": [{"name": "coin-address", "Attribute": [{"object_relation": "address", "type": "btc", "value": "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"}, {"object_relation": "symbol", "type": "text", "value": "ETH"}]}]}}`), 0o644))
	out := n.cli(t, "intel", "import", misp, "--collection", "imports")
	if !strings.Contains(out, "0 failed") {
		t.Errorf("MISP import: %s", out)
	}
	out = n.cli(t, "intel", "import", filepath.Join("..", "..", "intel", "testdata", "hostile-bundle.json"), "--collection", "imports")
	if !strings.Contains(out, "rejected objects[") || !strings.Contains(out, "0 failed") {
		t.Errorf("hostile bundle: %s", out)
	}
	n.key(t, "screen", "screen")
	ctx, cancel := context.WithCancel(context.Background())
	n.start(ctx, t)
	defer func() { cancel(); <-n.done }()
	if f, body := n.flagged(t, "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"); !f || !strings.Contains(body, "Lazarus cash-out, TLP:GREEN") {
		t.Errorf("imported wallet not flagged: %s", body)
	}
}
