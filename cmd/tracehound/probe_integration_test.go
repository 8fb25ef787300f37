//go:build integration

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/taxii"
)

// TestProbe replays the abuse cases against a real server on loopback and
// checks that each is refused or contained: slow bodies, forged and
// case-varied ids, deletes of others' and hidden objects, TLP:RED in every
// form, screening that fails closed, every TAXII query form, a clean
// shutdown, and an audit log cut back behind a recorded head.
func TestProbe(t *testing.T) {
	d := sharedData(t)
	n := newNode(t, "probe")
	keys := map[string]string{
		"screen":  n.key(t, "screen", "screen"), // cleared for GREEN, the default
		"desk":    n.key(t, "desk", "screen", "clearance=amber"),
		"admin":   n.key(t, "admin", "admin"),
		"partner": n.key(t, "partner", "taxii:read", "taxii:write"),
		"other":   n.key(t, "other", "taxii:read", "taxii:write"),
		"analyst": n.key(t, "analyst", "taxii:read", "taxii:write", "taxii:publish"),
	}
	me := intel.IdentityFor("US agency").ID
	n.cli(t, "intel", "identity", "US agency")
	n.cli(t, "intel", "collection", "add", "probe", "--read", "partner,other,analyst", "--write", "partner,other,analyst")
	// The operator records a head outside the node before serving.
	headFile := filepath.Join(t.TempDir(), "head")
	must(t, os.WriteFile(headFile, []byte(n.cli(t, "intel", "audit", "head")), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startProbed(ctx, t, n)
	defer func() {
		cancel()
		srv.wait(t)
	}()
	// Every request of the probe but the attackers' comes from 127.0.0.2:
	// the attackers on 127.0.0.1 fill that address's connection cap.
	p := &probe{t: t, base: n.url, keys: keys, hc: clientFrom("127.0.0.2")}

	t.Run("screening fails closed", func(t *testing.T) { p.t = t; p.failClosed(d) })

	// The node's own intelligence: a GREEN indicator and an AMBER report.
	pub := p.taxii("analyst")
	nodeInd := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), time.Now().Add(-time.Hour), map[string]any{
		"created_by_ref": me, "object_marking_refs": []string{intel.MarkingTLP2Green}})
	amberInd := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), time.Now().Add(-time.Hour), map[string]any{
		"created_by_ref": me, "object_marking_refs": []string{intel.MarkingTLP2Amber}})
	report := stix(intel.TypeReport, intel.NewID(intel.TypeReport), time.Now().Add(-time.Hour), time.Time{}, map[string]any{
		"name": "Probe AMBER report", "published": ts(time.Now().Add(-time.Hour)), "object_refs": []string{amberInd.id},
		"created_by_ref": me, "object_marking_refs": []string{intel.MarkingTLP2Amber}})
	p.addOK(pub, nodeInd.raw, amberInd.raw, report)
	p.waitFlag("screen", nodeInd.addr, "flagged by this node")

	t.Run("forged and case-varied ids", func(t *testing.T) { p.t = t; p.forged(me, nodeInd) })
	t.Run("deletes", func(t *testing.T) { p.t = t; p.deletes(nodeInd) })
	t.Run("RED in every form", func(t *testing.T) { p.t = t; p.red() })
	t.Run("clearance", func(t *testing.T) { p.t = t; p.clearance(amberInd) })
	t.Run("TAXII queries", func(t *testing.T) { p.t = t; p.queries() })
	t.Run("slow bodies", func(t *testing.T) { p.t = t; p.slowBodies(nodeInd) })

	t.Run("clean shutdown", func(t *testing.T) {
		cancel()
		srv.wait(t)
		if log := srv.log.String(); strings.Contains(log, "panic") {
			t.Errorf("the server panicked:\n%s", log)
		}
	})
	t.Run("audit cut behind a recorded head", func(t *testing.T) { probeAuditCut(t, n, headFile) })
}

// probed is a server started by startProbed.
type probed struct {
	done chan error
	log  *lockedBuffer
	once sync.Once
	err  error
}

// startProbed serves n in-process as `tracehound serve` does, keeping
// the server's warnings and errors (a handler's panic among them).
func startProbed(ctx context.Context, t *testing.T, n *xnode) *probed {
	t.Helper()
	s := &probed{done: make(chan error, 1), log: &lockedBuffer{}}
	a := &app{dataDir: n.data, stdout: io.Discard, stderr: io.Discard,
		log: slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ready := make(chan struct{})
	o := serveOptions{addr: strings.TrimPrefix(n.url, "http://"), poll: 250 * time.Millisecond}
	go func() { s.done <- a.serve(ctx, o, func(string) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-s.done:
		t.Fatalf("serve: %v", err)
	}
	return s
}

// wait waits for the server to return once its context ended, and fails
// t unless it returned cleanly within 15 s.
func (s *probed) wait(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		select {
		case s.err = <-s.done:
		case <-time.After(15 * time.Second):
			s.err = errors.New("still serving 15 s after it was stopped")
		}
	})
	if s.err != nil {
		t.Errorf("serve: %v", s.err)
	}
}

// clientFrom is an HTTP client whose connections come from the local
// address ip (all of 127/8 is loopback on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

type probe struct {
	t    *testing.T
	base string
	keys map[string]string
	hc   *http.Client
	// redIDs are the objects the RED probe added, which no partner may
	// receive; redAddr is a wallet a RED indicator flags.
	redIDs  []string
	redAddr string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends a request as the named key ("" for none); a 5xx answer fails
// the test.
func (p *probe) do(method, path, key string, body io.Reader, hdr ...string) reply {
	p.t.Helper()
	r := p.send(method, path, key, body, hdr...)
	if r.status >= 500 {
		p.t.Errorf("%s %s: %s", method, path, r)
	}
	return r
}

// send is do without judging the status.
func (p *probe) send(method, path, key string, body io.Reader, hdr ...string) reply {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+p.keys[key])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func (p *probe) screenOne(key, chain, addr string) reply {
	p.t.Helper()
	return p.do("GET", "/v1/addresses/"+chain+"/"+addr, key, nil)
}

func (p *probe) waitFlag(key, addr, want string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := p.screenOne(key, "eth", addr)
		if strings.Contains(string(r.body), `"code":"intel"`) && strings.Contains(string(r.body), want) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not flagged with %q: %s", addr, want, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taxii is a TAXII client with the named key, from the probe's address.
func (p *probe) taxii(key string) *taxii.Client {
	return taxii.NewClient(p.base, taxii.DefaultAPIRoot, p.keys[key], p.hc)
}

func (p *probe) add(c *taxii.Client, raws ...json.RawMessage) taxii.Status {
	p.t.Helper()
	st, err := c.Add(context.Background(), "probe", raws)
	if err != nil {
		p.t.Fatalf("add: %v", err)
	}
	return st
}

func (p *probe) addOK(c *taxii.Client, raws ...json.RawMessage) {
	p.t.Helper()
	if st := p.add(c, raws...); st.FailureCount > 0 || st.SuccessCount != len(raws) {
		p.t.Fatalf("add: %+v", st)
	}
}

// refused adds one object and checks that it fails with a message
// containing want.
func (p *probe) refused(what string, c *taxii.Client, raw json.RawMessage, want string) {
	p.t.Helper()
	st := p.add(c, raw)
	if st.FailureCount != 1 || st.SuccessCount != 0 || len(st.Failures) != 1 || !strings.Contains(st.Failures[0].Message, want) {
		p.t.Errorf("%s: not refused with %q: %+v", what, want, st)
	}
}

func (p *probe) accepted(what string, c *taxii.Client, raw json.RawMessage) {
	p.t.Helper()
	if st := p.add(c, raw); st.FailureCount != 0 || st.SuccessCount != 1 {
		p.t.Errorf("%s: refused: %+v", what, st)
	}
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// stix makes a STIX 2.1 object; a zero modified is left out.
func stix(typ, id string, created, modified time.Time, props map[string]any) json.RawMessage {
	o := map[string]any{"type": typ, "spec_version": "2.1", "id": id, "created": ts(created)}
	if typ != intel.TypeMarkingDefinition {
		if modified.IsZero() {
			modified = created
		}
		o["modified"] = ts(modified)
	}
	for k, v := range props {
		if v == nil {
			delete(o, k)
			continue
		}
		o[k] = v
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return b
}

type indicator struct {
	id, addr string
	created  time.Time
	props    map[string]any
	raw      json.RawMessage
}

// indicator flags an Ethereum wallet; props add to or replace its
// properties.
func (p *probe) indicator(id, addr string, created time.Time, props map[string]any) indicator {
	all := map[string]any{"pattern": "[cryptocurrency-wallet:value = '" + addr + "']", "pattern_type": "stix",
		"valid_from": ts(created), "indicator_types": []string{"malicious-activity"}, "labels": []string{"chain:eth"}}
	for k, v := range props {
		all[k] = v
	}
	return indicator{id: id, addr: addr, created: created, props: all, raw: stix(intel.TypeIndicator, id, created, time.Time{}, all)}
}

// version is a later version of ind, modified at m, with changes.
func (ind indicator) version(id string, m time.Time, changes map[string]any) json.RawMessage {
	all := map[string]any{}
	for k, v := range ind.props {
		all[k] = v
	}
	for k, v := range changes {
		all[k] = v
	}
	return stix(intel.TypeIndicator, id, ind.created, m, all)
}

func newAddr() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

// upperUUID writes an id's UUID in upper case: the same STIX id.
func upperUUID(id string) string {
	typ, uuid, _ := strings.Cut(id, "--")
	return typ + "--" + strings.ToUpper(uuid)
}

const lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

// failClosed: no list means "unknown" and a degraded health check; an
// unknown chain is an error, with or without a list; the list uploaded
// through the admin API makes screening answer.
func (p *probe) failClosed(d string) {
	t := p.t
	health := func() (h node.Health) {
		r := p.do("GET", "/healthz", "", nil)
		if err := json.Unmarshal(r.body, &h); err != nil || r.status != 200 {
			t.Fatalf("healthz: %s", r)
		}
		return h
	}
	if h := health(); h.Status != "degraded" || h.SanctionsLoaded || len(h.Warnings) == 0 {
		t.Errorf("healthz without a list: %+v", h)
	}
	var res struct {
		Risk       string `json:"risk"`
		Sanctioned bool   `json:"sanctioned"`
		Reasons    []struct{ Code string }
		Error      *struct{ Reason, Message string }
	}
	r := p.screenOne("screen", "eth", lazarus)
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 || res.Risk != "unknown" || res.Sanctioned {
		t.Errorf("a listed address with no list: %s", r)
	}
	unknownChains := func(when string) {
		for _, c := range []string{"etherium", "x"} {
			r := p.screenOne("screen", c, lazarus)
			var e struct{ Error struct{ Code, Reason string } }
			if json.Unmarshal(r.body, &e) != nil || r.status != 400 || e.Error.Reason != "chain" {
				t.Errorf("%s: GET chain %q: %s", when, c, r)
			}
		}
		body := `{"addresses":[{"address":"` + lazarus + `","chain":"etherium"},{"address":"` + lazarus + `","chain":"x"},"` + lazarus + `"]}`
		r := p.do("POST", "/v1/screen", "screen", strings.NewReader(body))
		var batch struct {
			Summary struct{ Invalid int }
			Results []struct {
				Risk  string
				Error *struct{ Reason string }
			}
		}
		if err := json.Unmarshal(r.body, &batch); err != nil || r.status != 200 || len(batch.Results) != 3 || batch.Summary.Invalid != 2 {
			t.Fatalf("%s: batch: %s", when, r)
		}
		for _, res := range batch.Results[:2] {
			if res.Error == nil || res.Error.Reason != "chain" || res.Risk != "" {
				t.Errorf("%s: an unknown chain in a batch: %+v", when, res)
			}
		}
	}
	unknownChains("no list")

	f, err := os.Open(filepath.Join(d, "ofac", "sdn-2024-05-03.csv"))
	must(t, err)
	defer f.Close()
	if r := p.do("POST", "/v1/admin/sanctions?name=sdn-2024-05-03.csv", "admin", f); r.status != 200 {
		t.Fatalf("upload the list: %s", r)
	}
	if h := health(); h.Status != "ok" || !h.SanctionsLoaded {
		t.Errorf("healthz with a list: %+v", h)
	}
	r = p.screenOne("screen", "eth", lazarus)
	res.Risk = ""
	if err := json.Unmarshal(r.body, &res); err != nil || res.Risk != "severe" || !res.Sanctioned {
		t.Errorf("a listed address: %s", r)
	}
	if r := p.screenOne("screen", "eth", newAddr()); !strings.Contains(string(r.body), `"risk":"low"`) {
		t.Errorf("an unlisted address: %s", r)
	}
	unknownChains("with the list")
}

// forged: a partner cannot speak in the node's name, whatever the case
// or spacing of the id, nor version, revoke or outdate the node's
// objects; a version from the far future and a version of a revoked
// object are refused; flags name who wrote them whatever the id's case.
func (p *probe) forged(me string, nodeInd indicator) {
	t := p.t
	partner := p.taxii("partner")
	now := time.Now()
	green := []string{intel.MarkingTLP2Green}
	claim := func(creator string) json.RawMessage {
		return p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, map[string]any{"created_by_ref": creator, "object_marking_refs": green}).raw
	}
	p.refused("the node's identity as creator, UUID in upper case", partner, claim(upperUUID(me)), "forged")
	p.refused("the node's identity as creator, with a trailing space", partner, claim(me+" "), "created_by_ref")
	p.refused("the node's identity as creator", partner, claim(me), "forged")
	identity := func(id string) json.RawMessage {
		return stix(intel.TypeIdentity, id, now, time.Time{}, map[string]any{"name": "US agency", "identity_class": "organization"})
	}
	p.refused("an identity reusing the node's id", partner, identity(me), "forged")
	p.refused("an identity reusing the node's id in upper case", partner, identity(upperUUID(me)), "forged")

	// Versions of the node's indicator: refused as forged while they name
	// the node as creator, as not the partner's when they name no one.
	later := now.Add(time.Minute)
	anon := map[string]any{"created_by_ref": nil}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	other := "[cryptocurrency-wallet:value = '" + newAddr() + "']"
	p.refused("a new version of the node's indicator", partner, nodeInd.version(nodeInd.id, later, map[string]any{"pattern": other}), "forged")
	p.refused("a new version of the node's indicator, no creator", partner, nodeInd.version(nodeInd.id, later, with(anon, "pattern", other)), "not yours")
	p.refused("a new version of the node's indicator, id in upper case", partner, nodeInd.version(upperUUID(nodeInd.id), later, anon), "not yours")
	p.refused("the node's indicator revoked", partner, nodeInd.version(nodeInd.id, later, with(anon, "revoked", true)), "not yours")
	p.refused("the node's indicator revoked, id in upper case", partner, nodeInd.version(upperUUID(nodeInd.id), later, with(anon, "revoked", true)), "not yours")
	future := time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC)
	p.refused("the node's indicator dated 2261", partner, nodeInd.version(nodeInd.id, future, anon), "")
	own := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, map[string]any{"object_marking_refs": green})
	p.accepted("a partner's own indicator", partner, own.raw)
	p.refused("its own indicator dated 2261", partner, own.version(own.id, future, nil), "in the future")
	p.accepted("its own indicator revoked", partner, own.version(own.id, now.Add(time.Second), map[string]any{"revoked": true}))
	p.refused("a later version of a revoked indicator", partner, own.version(own.id, now.Add(2*time.Second), nil), "revoked")

	// The node's indicator is as the node wrote it.
	r := p.do("GET", "/taxii2/tracehound/collections/probe/objects/"+nodeInd.id+"/versions/", "analyst", nil, "Accept", taxii.MediaType)
	var vs struct{ Versions []string }
	if json.Unmarshal(r.body, &vs) != nil || len(vs.Versions) != 1 {
		t.Errorf("the node's indicator has versions %s", r)
	}
	p.waitFlag("screen", nodeInd.addr, "flagged by this node")

	// A partner's indicator with an upper-case UUID is the partner's in
	// screening, not the node's.
	upper := p.indicator(upperUUID(intel.NewID(intel.TypeIndicator)), newAddr(), now, map[string]any{"object_marking_refs": green})
	p.accepted("a partner's indicator, UUID in upper case", partner, upper.raw)
	p.waitFlag("screen", upper.addr, "flagged by")
	if r := p.screenOne("screen", "eth", upper.addr); !strings.Contains(string(r.body), "flagged by partner") || strings.Contains(string(r.body), "this node") {
		t.Errorf("a partner's upper-case indicator is explained as %s", r)
	}
	// Its owner revokes an indicator naming it in another case: screening
	// drops the flag.
	mixed := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, map[string]any{"object_marking_refs": green})
	p.accepted("a partner's indicator", partner, mixed.raw)
	p.waitFlag("screen", mixed.addr, "flagged by partner")
	p.accepted("revoked under its upper-case id", partner, mixed.version(upperUUID(mixed.id), now.Add(time.Second), map[string]any{"revoked": true}))
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(string(p.screenOne("screen", "eth", mixed.addr).body), `"code":"intel"`) {
		if time.Now().After(deadline) {
			t.Error("an indicator revoked under its upper-case id still flags")
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taxiiGet reads a TAXII path of the probe collection as key.
func (p *probe) taxiiGet(key, path string, hdr ...string) reply {
	p.t.Helper()
	return p.do("GET", "/taxii2/tracehound/collections/probe/"+path, key, nil, append([]string{"Accept", taxii.MediaType}, hdr...)...)
}

// deletes: a partner deletes neither the node's objects nor another
// partner's; one it cannot read answers 404 as a missing one, to the byte.
func (p *probe) deletes(nodeInd indicator) {
	t := p.t
	del := func(key, id string) reply {
		return p.do("DELETE", "/taxii2/tracehound/collections/probe/objects/"+id+"/", key, nil, "Accept", taxii.MediaType, "X-Request-Id", "probe-delete")
	}
	if r := del("partner", nodeInd.id); r.status != http.StatusForbidden {
		t.Errorf("a partner deletes the node's visible indicator: %s", r)
	}
	if r := del("partner", upperUUID(nodeInd.id)); r.status != http.StatusNotFound && r.status != http.StatusForbidden {
		t.Errorf("a partner deletes the node's indicator by its upper-case id: %s", r)
	}
	if r := p.taxiiGet("analyst", "objects/"+nodeInd.id+"/"); r.status != 200 || !strings.Contains(string(r.body), nodeInd.id) {
		t.Errorf("the node's indicator after the partner's delete: %s", r)
	}
	// A RED note of the node's.
	red := stix(intel.TypeNote, intel.NewID(intel.TypeNote), time.Now(), time.Time{}, map[string]any{
		"content": "source: sensitive", "object_refs": []string{nodeInd.id}, "object_marking_refs": []string{intel.MarkingTLP2Red}})
	p.addOK(p.taxii("analyst"), red)
	var note struct{ ID string }
	must(t, json.Unmarshal(red, &note))
	missing := intel.NewID(intel.TypeNote)
	hidden, absent := del("partner", note.ID), del("partner", missing)
	same := func(what string, a, b reply) {
		if a.status != http.StatusNotFound || a.status != b.status || string(a.body) != string(b.body) ||
			a.header.Get("Content-Type") != b.header.Get("Content-Type") || a.header.Get("Content-Length") != b.header.Get("Content-Length") {
			t.Errorf("%s: hidden %s, missing %s", what, a, b)
		}
	}
	same("DELETE", hidden, absent)
	same("GET", p.taxiiGet("partner", "objects/"+note.ID+"/", "X-Request-Id", "probe-get"), p.taxiiGet("partner", "objects/"+missing+"/", "X-Request-Id", "probe-get"))
	same("GET versions", p.taxiiGet("partner", "objects/"+note.ID+"/versions/", "X-Request-Id", "probe-get"), p.taxiiGet("partner", "objects/"+missing+"/versions/", "X-Request-Id", "probe-get"))
	// RED leaves the node for nobody, its own analysts' keys included.
	if r := p.taxiiGet("analyst", "objects/"+note.ID+"/"); r.status != 404 {
		t.Errorf("the RED note, read over TAXII by the node's analyst: %s", r)
	}
	// Partners' objects: the other partner may not delete; the owner may.
	mine := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), time.Now(), map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green}})
	p.addOK(p.taxii("partner"), mine.raw)
	if r := del("other", mine.id); r.status != http.StatusForbidden {
		t.Errorf("a partner deletes another's indicator: %s", r)
	}
	if r := del("partner", mine.id); r.status != http.StatusOK {
		t.Errorf("a partner deletes its own indicator: %s", r)
	}
	if r := p.taxiiGet("partner", "objects/"+mine.id+"/"); r.status != http.StatusNotFound {
		t.Errorf("a deleted indicator: %s", r)
	}
}

// red: TLP:RED by content in every encoding, on the object and on one
// property, is served to no partner, and paging shows nothing of it.
func (p *probe) red() {
	t := p.t
	now := time.Now()
	mdef := func(props map[string]any) (string, json.RawMessage) {
		id := intel.NewID(intel.TypeMarkingDefinition)
		return id, stix(intel.TypeMarkingDefinition, id, now, time.Time{}, props)
	}
	tlp2, m1 := mdef(map[string]any{"name": "internal", "extensions": map[string]any{
		intel.TLP2ExtensionID: map[string]any{"extension_type": "property-extension", "tlp_2_0": "red"}}})
	tlp1, m2 := mdef(map[string]any{"definition_type": "tlp", "definition": map[string]any{"tlp": "red"}})
	octi, m3 := mdef(map[string]any{"name": "Restricted", "definition_type": "statement", "definition": map[string]any{"statement": "Restricted"},
		"x_opencti_definition_type": "TLP", "x_opencti_definition": "TLP:RED"})
	misp, m4 := mdef(map[string]any{"name": "internal", "definition_type": "statement", "definition": map[string]any{"statement": "tlp:red"}})
	pub := p.taxii("analyst")
	// A visible object first, RED ones between visible ones, and RED
	// ones last, so that pages must read past withheld objects.
	first := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green}})
	p.addOK(pub, first.raw, m1, m2, m3, m4)
	p.redIDs = append(p.redIDs, tlp2, tlp1, octi, misp)
	marked := func(props map[string]any) indicator {
		ind := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, props)
		return ind
	}
	var reds []indicator
	for _, m := range []string{tlp2, tlp1, octi, misp, intel.MarkingTLP1Red, upperUUID(intel.MarkingTLP2Red)} {
		reds = append(reds, marked(map[string]any{"object_marking_refs": []string{m}}))
	}
	reds = append(reds, marked(map[string]any{"labels": []string{"chain:eth", "tlp:red"}}))
	// A granular RED marking on the pattern withholds the whole object.
	reds = append(reds, marked(map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green},
		"granular_markings": []map[string]any{{"marking_ref": tlp2, "selectors": []string{"pattern"}}}}))
	// On the description, only the description.
	partial := marked(map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green}, "description": "RED source: the informant",
		"granular_markings": []map[string]any{{"marking_ref": octi, "selectors": []string{"description"}}}})
	middle := marked(map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green}})
	p.redAddr = reds[0].addr
	for i, ind := range reds {
		p.addOK(pub, ind.raw)
		p.redIDs = append(p.redIDs, ind.id)
		if i == 3 {
			p.addOK(pub, middle.raw, partial.raw)
		}
	}

	for _, key := range []string{"partner", "other", "analyst"} {
		all := p.taxiiGet(key, "objects/?match[version]=all")
		man := p.taxiiGet(key, "manifest/?match[version]=all")
		marks := p.taxiiGet(key, "objects/?match[type]=marking-definition")
		for _, r := range []reply{all, man, marks} {
			if r.status != 200 {
				t.Fatalf("%s: %s", key, r)
			}
			body := strings.ToLower(string(r.body))
			for _, id := range p.redIDs {
				if strings.Contains(body, strings.ToLower(id)) {
					t.Errorf("%s received RED %s", key, id)
				}
			}
			for _, s := range []string{`"red"`, "tlp:red", "informant"} {
				if strings.Contains(body, s) {
					t.Errorf("%s received %s in %.300s", key, s, r.body)
				}
			}
		}
		for _, id := range []string{first.id, middle.id, partial.id} {
			if !strings.Contains(string(all.body), id) {
				t.Errorf("%s did not receive %s", key, id)
			}
		}
		for _, id := range p.redIDs {
			if r := p.taxiiGet(key, "objects/"+id+"/"); r.status != 404 {
				t.Errorf("%s reads RED %s: %s", key, id, r)
			}
		}
		r := p.taxiiGet(key, "objects/"+partial.id+"/")
		if r.status != 200 || strings.Contains(string(r.body), "description") || strings.Contains(string(r.body), octi) {
			t.Errorf("%s reads the partly RED indicator as %s", key, r)
		}
	}

	// Pages of one show every visible object once, and nothing of the
	// withheld ones: no empty page, no page after the last visible one.
	for _, res := range []string{"objects", "manifest"} {
		full := p.taxiiGet("partner", res+"/")
		var whole struct {
			Objects []struct{ ID string }
		}
		must(t, json.Unmarshal(full.body, &whole))
		var paged []string
		next := ""
		for i := 0; ; i++ {
			q := url.Values{"limit": {"1"}}
			if next != "" {
				q.Set("next", next)
			}
			r := p.taxiiGet("partner", res+"/?"+q.Encode())
			var pg struct {
				More    bool
				Next    string
				Objects []struct{ ID string }
			}
			if err := json.Unmarshal(r.body, &pg); err != nil || r.status != 200 {
				t.Fatalf("%s page %d: %s", res, i, r)
			}
			if len(pg.Objects) != 1 {
				t.Fatalf("%s page %d has %d objects (more %v): the count of withheld objects shows", res, i, len(pg.Objects), pg.More)
			}
			paged = append(paged, pg.Objects[0].ID)
			if !pg.More {
				if pg.Next != "" {
					t.Errorf("%s: the last page has a next token", res)
				}
				break
			}
			next = pg.Next
			if i > 1000 {
				t.Fatal("paging does not end")
			}
		}
		var want []string
		for _, o := range whole.Objects {
			want = append(want, o.ID)
		}
		if !slices.Equal(paged, want) {
			t.Errorf("%s: pages of one give %d objects, one page %d", res, len(paged), len(want))
		}
	}
}

// clearance: a key cleared for GREEN learns that restricted intelligence
// applies, not the AMBER report's name or who wrote it.
func (p *probe) clearance(amberInd indicator) {
	t := p.t
	p.waitFlag("desk", amberInd.addr, "Probe AMBER report")
	green := p.screenOne("screen", "eth", amberInd.addr)
	batch := p.do("POST", "/v1/screen", "screen", strings.NewReader(`{"addresses":["`+amberInd.addr+`"]}`))
	for _, r := range []reply{green, batch} {
		b := string(r.body)
		if r.status != 200 || !strings.Contains(b, `"risk":"high"`) || !strings.Contains(b, "restricted intelligence") ||
			strings.Contains(b, "Probe AMBER report") || strings.Contains(b, "flagged by this node") || strings.Contains(b, `"partner":"this node"`) || strings.Contains(b, amberInd.id) {
			t.Errorf("a GREEN key reads the AMBER flag as %s", r)
		}
	}
	// RED intelligence flags, and tells even a key cleared for AMBER
	// nothing of itself.
	p.waitFlag("desk", p.redAddr, "restricted intelligence")
	r := p.screenOne("desk", "eth", p.redAddr)
	for _, id := range p.redIDs {
		if strings.Contains(string(r.body), id) {
			t.Errorf("RED %s in an AMBER answer: %s", id, r)
		}
	}
}

// queries: every TAXII query form answers as the spec says, malformed
// ones with 400, none with a 5xx.
func (p *probe) queries() {
	t := p.t
	partner := p.taxii("partner")
	now := time.Now().Add(-time.Minute)
	w := p.indicator(intel.NewID(intel.TypeIndicator), newAddr(), now, map[string]any{"object_marking_refs": []string{intel.MarkingTLP2Green}})
	v := []time.Time{now, now.Add(time.Second), now.Add(2 * time.Second)}
	p.addOK(partner, w.raw, w.version(w.id, v[1], map[string]any{"name": "second"}), w.version(w.id, v[2], map[string]any{"name": "third"}))
	type object struct {
		ID, Modified string
		SpecVersion  string `json:"spec_version"`
	}
	type page struct {
		More     bool
		Next     string
		Objects  []object
		Versions []string
	}
	get := func(path string, q url.Values) (page, reply) {
		t.Helper()
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		r := p.taxiiGet("partner", path)
		var pg page
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &pg); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return pg, r
	}
	mods := func(pg page) []string {
		var out []string
		for _, o := range pg.Objects {
			out = append(out, o.Modified)
		}
		return out
	}
	for _, c := range []struct {
		version string
		want    []time.Time
	}{{"", v[2:]}, {"last", v[2:]}, {"first", v[:1]}, {"all", v}, {ts(v[1]), v[1:2]}, {"first,last", []time.Time{v[0], v[2]}}} {
		q := url.Values{"match[id]": {w.id}}
		if c.version != "" {
			q.Set("match[version]", c.version)
		}
		var want []string
		for _, x := range c.want {
			want = append(want, ts(x))
		}
		for _, path := range []string{"objects/", "objects/" + w.id + "/"} {
			pg, r := get(path, q)
			if got := mods(pg); r.status != 200 || !slices.Equal(got, want) {
				t.Errorf("%s match[version]=%q: %v, want %v (%s)", path, c.version, got, want, r)
			}
		}
	}
	if pg, r := get("objects/", url.Values{"match[id]": {w.id}, "match[spec_version]": {"2.1"}}); len(pg.Objects) != 1 {
		t.Errorf("match[spec_version]=2.1: %s", r)
	}
	if pg, r := get("objects/", url.Values{"match[id]": {w.id}, "match[spec_version]": {"2.0"}}); r.status != 200 || len(pg.Objects) != 0 || pg.More {
		t.Errorf("match[spec_version]=2.0: %s", r)
	}
	if pg, r := get("objects/", url.Values{"match[type]": {"indicator"}}); r.status != 200 || len(pg.Objects) == 0 || slices.ContainsFunc(pg.Objects, func(o object) bool { return !strings.HasPrefix(o.ID, "indicator--") }) {
		t.Errorf("match[type]=indicator: %s", r)
	}
	// Two ids, one RED: only the visible one.
	if pg, r := get("objects/", url.Values{"match[id]": {w.id + "," + p.redIDs[len(p.redIDs)-1]}}); len(pg.Objects) != 1 || pg.Objects[0].ID != w.id {
		t.Errorf("match[id] with a RED id: %s", r)
	}
	// added_after the second version's date_added: the third only.
	_, r := get("objects/", url.Values{"match[id]": {w.id}, "match[version]": {"first"}})
	first := r.header.Get("X-TAXII-Date-Added-First")
	_, r = get("objects/", url.Values{"match[id]": {w.id}, "match[version]": {ts(v[1])}})
	second := r.header.Get("X-TAXII-Date-Added-Last")
	if first == "" || second == "" {
		t.Fatalf("no X-TAXII-Date-Added headers: %v", r.header)
	}
	if pg, r := get("objects/", url.Values{"match[id]": {w.id}, "match[version]": {"all"}, "added_after": {second}}); !slices.Equal(mods(pg), []string{ts(v[2])}) {
		t.Errorf("added_after %s: %s", second, r)
	}
	if pg, r := get("manifest/", url.Values{"match[id]": {w.id}, "match[version]": {"all"}, "added_after": {first}}); len(pg.Objects) != 2 {
		t.Errorf("manifest added_after %s: %s", first, r)
	}
	// Versions, a page at a time.
	var versions []string
	q := url.Values{"limit": {"1"}}
	for i := 0; i < 10; i++ {
		pg, r := get("objects/"+w.id+"/versions/", q)
		if r.status != 200 || len(pg.Versions) != 1 {
			t.Fatalf("versions page %d: %s", i, r)
		}
		versions = append(versions, pg.Versions...)
		if !pg.More {
			break
		}
		q.Set("next", pg.Next)
	}
	if len(versions) != 3 || versions[0] != ts(v[0]) {
		t.Errorf("versions one by one: %v", versions)
	}
	_, vr := get("objects/"+w.id+"/versions/", url.Values{"limit": {"1"}})
	var vpage page
	must(t, json.Unmarshal(vr.body, &vpage))
	// Malformed queries: 400, as TAXII errors.
	for _, bad := range []url.Values{
		{"limit": {"0"}}, {"limit": {"-1"}}, {"limit": {"x"}}, {"limit": {"1", "2"}},
		{"next": {"garbage"}}, {"next": {vpage.Next}}, {"added_after": {"yesterday"}},
		{"match[version]": {"newest"}}, {"added_after": {"2261-13-01T00:00:00Z"}},
	} {
		_, r := get("objects/", bad)
		var e taxii.Error
		if r.status != 400 || json.Unmarshal(r.body, &e) != nil || e.HTTPStatus != "400" {
			t.Errorf("objects/?%s: %s", bad.Encode(), r)
		}
	}
	if r := p.taxiiGet("partner", "objects/", "Accept", "application/xml"); r.status != http.StatusNotAcceptable {
		t.Errorf("Accept: application/xml: %s", r)
	}
	if r := p.taxiiGet("partner", "objects/?limit=100000"); r.status != 200 {
		t.Errorf("a limit above the page size: %s", r)
	}
}

// slowBodies: hundreds of connections send a body a byte a second,
// without a key and with one; none without a key is held, those with one
// are held only up to the per-address cap, and requests from another
// address are served meanwhile.
func (p *probe) slowBodies(nodeInd indicator) {
	t := p.t
	addr := strings.TrimPrefix(p.base, "http://")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	head := func(path, key, ctype string, length int) string {
		h := "POST " + path + " HTTP/1.1\r\nHost: probe\r\nContent-Type: " + ctype + fmt.Sprintf("\r\nContent-Length: %d\r\n", length)
		if key != "" {
			h += "Authorization: Bearer " + p.keys[key] + "\r\n"
		}
		return h + "\r\n{"
	}
	const screenPath, taxiiPath = "/v1/screen", "/taxii2/tracehound/collections/probe/objects/"

	// Without a key: answered 401 and closed at once, or closed at
	// accept beyond the cap; none held.
	var noKey []net.Conn
	for i := range 300 {
		path, ctype := screenPath, "application/json"
		if i%3 == 0 {
			path, ctype = taxiiPath, taxii.MediaType
		}
		noKey = append(noKey, dialSlow(t, "127.0.0.1", addr, head(path, "", ctype, 4096)))
	}
	go trickle(ctx, noKey)
	var refused, closed, held atomic.Int64
	var wg sync.WaitGroup
	for _, c := range noKey {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				if isTimeout(err) {
					held.Add(1)
				} else {
					closed.Add(1)
				}
				return
			}
			_, err = io.Copy(io.Discard, br)
			switch {
			case isTimeout(err):
				held.Add(1)
			case resp.StatusCode == http.StatusUnauthorized && resp.Close:
				refused.Add(1)
			default:
				t.Errorf("without a key: %s", resp.Status)
			}
		})
	}
	wg.Wait()
	t.Logf("300 slow bodies without a key: %d answered 401 and closed, %d closed at accept, %d held", refused.Load(), closed.Load(), held.Load())
	if held.Load() != 0 || refused.Load() < int64(node.DefaultLimits.MaxConnsPerIP) {
		t.Errorf("slow bodies without a key: %d held, %d refused", held.Load(), refused.Load())
	}
	closeAll(noKey)

	// With a key: held, up to the cap of one address; the rest closed
	// at accept.
	var withKey []net.Conn
	for i := range 320 {
		c := head(screenPath, "screen", "application/json", 4096)
		if i%16 == 0 {
			c = head(taxiiPath, "partner", taxii.MediaType, 4096)
		}
		withKey = append(withKey, dialSlow(t, "127.0.0.1", addr, c))
	}
	go trickle(ctx, withKey)
	// Real requests from 127.0.0.2 meanwhile.
	var lat []time.Duration
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		start := time.Now()
		if r := p.screenOne("screen", "eth", nodeInd.addr); r.status != 200 || !strings.Contains(string(r.body), `"code":"intel"`) {
			t.Errorf("screening during the slow bodies: %s", r)
		}
		if r := p.do("POST", "/v1/screen", "screen", strings.NewReader(`{"addresses":["`+lazarus+`","`+nodeInd.addr+`"]}`)); r.status != 200 {
			t.Errorf("a batch during the slow bodies: %s", r)
		}
		if r := p.taxiiGet("partner", "objects/?limit=5"); r.status != 200 {
			t.Errorf("TAXII during the slow bodies: %s", r)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("with 320 slow keyed bodies open: %d rounds of 3 real requests from 127.0.0.2, median %s, max %s", len(lat), lat[len(lat)/2], lat[len(lat)-1])
	var open, shut atomic.Int64
	deadline := time.Now().Add(300 * time.Millisecond)
	for _, c := range withKey {
		wg.Go(func() {
			c.SetReadDeadline(deadline)
			var b [1]byte
			switch _, err := c.Read(b[:]); {
			case isTimeout(err):
				open.Add(1)
			case err != nil:
				shut.Add(1)
			default:
				t.Errorf("a slow keyed body was answered before its body arrived")
			}
		})
	}
	wg.Wait()
	t.Logf("320 slow keyed bodies from one address: %d held, %d closed at accept", open.Load(), shut.Load())
	if open.Load() != int64(node.DefaultLimits.MaxConnsPerIP) || shut.Load() != int64(len(withKey))-open.Load() {
		t.Errorf("slow keyed bodies: %d held, %d closed; want the cap, %d", open.Load(), shut.Load(), node.DefaultLimits.MaxConnsPerIP)
	}

	closeAll(withKey)

	// A key declaring the largest body twice over and sending it a byte
	// a second holds every byte in flight, until the read deadline
	// (60 s). Single-address screening and TAXII are served meanwhile;
	// a batch waits for room for a few seconds, then is answered 503
	// with Retry-After: refused, not hung.
	time.Sleep(300 * time.Millisecond) // the keyed bodies' room is released
	var big []net.Conn
	for range 2 {
		big = append(big, dialSlow(t, "127.0.0.3", addr, head(screenPath, "screen", "application/json", 32<<20)))
	}
	go trickle(ctx, big)
	time.Sleep(500 * time.Millisecond)
	if r := p.screenOne("screen", "eth", nodeInd.addr); r.status != 200 {
		t.Errorf("screening while the bytes in flight are held: %s", r)
	}
	if r := p.taxiiGet("partner", "objects/?limit=5"); r.status != 200 {
		t.Errorf("TAXII while the bytes in flight are held: %s", r)
	}
	start := time.Now()
	r := p.send("POST", "/v1/screen", "desk", strings.NewReader(`{"addresses":["`+lazarus+`"]}`))
	waited := time.Since(start)
	t.Logf("a batch while another key holds 64 MiB of slow bodies: %d after %s", r.status, waited.Round(time.Millisecond))
	if !(r.status == 200 || r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "") || waited > 10*time.Second {
		t.Errorf("a batch while the bytes in flight are held: %s after %s", r, waited)
	}
	stop()
	closeAll(big)
	// Room again once they are gone.
	deadline = time.Now().Add(5 * time.Second)
	for {
		r := p.send("POST", "/v1/screen", "desk", strings.NewReader(`{"addresses":["`+lazarus+`"]}`))
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("a batch after the slow bodies closed: %s", r)
			break
		}
	}
}

// dialSlow opens a connection from ip and sends the start of a request.
func dialSlow(t *testing.T, ip, addr, start string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	if _, err := io.WriteString(c, start); err != nil {
		// Closed at accept already: the read will tell.
		return c
	}
	return c
}

// trickle sends one byte a second on each connection until ctx ends.
func trickle(ctx context.Context, conns []net.Conn) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range conns {
			c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
			_, _ = c.Write([]byte(" "))
		}
	}
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// probeAuditCut records that the log holds the head recorded before
// serving, then cuts the log back behind it, checkpoint records and all,
// as someone with write access to the store could: only the recorded head
// shows it.
func probeAuditCut(t *testing.T, n *xnode, headFile string) {
	out, err := run(t, "--data", n.data, "intel", "audit", "verify", "--against", headFile)
	if err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, "1 recorded heads held") {
		t.Fatalf("verify before the cut: %v %s", err, out)
	}
	b, err := os.ReadFile(headFile)
	must(t, err)
	h, err := audit.ParseHead(strings.TrimSpace(string(b)))
	must(t, err)

	opts := &pebble.Options{Logger: quietPebble{}}
	graph.Configure(opts)
	db, err := pebble.Open(n.data, opts)
	must(t, err)
	cut := func(prefix string, from uint64) int {
		lo := binaryKey(prefix, from)
		hi := append([]byte(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		must(t, err)
		var ks [][]byte
		for it.First(); it.Valid(); it.Next() {
			ks = append(ks, slices.Clone(it.Key()))
		}
		must(t, it.Close())
		for _, k := range ks {
			must(t, db.Delete(k, pebble.Sync))
		}
		return len(ks)
	}
	// Entries from the head's on (store/pebble/audit.go: "a/" and "ac/"
	// and the big-endian sequence number).
	entries, checkpoints := cut("a/", h.Seq), cut("ac/", h.Seq)
	must(t, db.Close())
	if entries == 0 {
		t.Fatal("nothing to cut")
	}
	out, err = run(t, "--data", n.data, "intel", "audit", "verify")
	t.Logf("%d entries and %d checkpoint records cut from entry %d; verify without the recorded head: %v %s", entries, checkpoints, h.Seq, err, strings.TrimSpace(out))
	out, err = run(t, "--data", n.data, "intel", "audit", "verify", "--against", headFile)
	if err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Errorf("verify --against the recorded head after the cut: %v %s", err, out)
	}
}

func binaryKey(prefix string, seq uint64) []byte {
	b := []byte(prefix)
	for i := 7; i >= 0; i-- {
		b = append(b, byte(seq>>(8*i)))
	}
	return b
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)         {}
func (quietPebble) Errorf(string, ...any)        {}
func (quietPebble) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
