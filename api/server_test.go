package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

const lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

type fixture struct {
	srv                       *httptest.Server
	screenKey, adminKey, none string
}

func newFixture(t *testing.T, maxBatch int) *fixture {
	t.Helper()
	p := chain.NewParser(eth.Codec{}, tron.Codec{}, btc.Codec{})
	idx := screen.NewIndex(p, screen.DefaultPolicy())
	idx.SetSanctions([]sanctions.Entry{{Asset: "ETH", Address: lazarus, Source: "OFAC SDN",
		ListDate: time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC),
		Party:    sanctions.Party{FixedRef: "27307", Name: "LAZARUS GROUP", Programs: []string{"DPRK3"}}}})
	binance, err := p.Parse("0x28c6c06298d514db089934071355e5743bf21d60", "")
	if err != nil {
		t.Fatal(err)
	}
	idx.SetTags([]tags.Tag{{Address: binance, Entity: "Binance", Label: "Binance 14", Category: tags.Exchange, Source: "etherscan", Confidence: 50}})
	now := time.Now()
	sk, ssecret, err := auth.NewKey("exchange", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	ak, asecret, err := auth.NewKey("ops", []auth.Role{auth.RoleAdmin}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	rk, rsecret, err := auth.NewKey("gone", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	rk.Revoked = true
	srv := httptest.NewServer(api.New(api.Config{Index: idx, Keys: auth.NewKeyring([]auth.Key{sk, ak, rk}), MaxBatch: maxBatch, MaxBody: 1 << 20}))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, screenKey: ssecret, adminKey: asecret, none: rsecret}
}

func (f *fixture) do(t *testing.T, method, path, key string, body any) (*http.Response, []byte) {
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
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Reason    string `json:"reason"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func decodeError(t *testing.T, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not a structured error: %s", b)
	}
	return e
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, 0)
	if resp, _ := f.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz without key: %s", resp.Status)
	}
	for _, tc := range []struct {
		name, path, key string
		status          int
		code            string
	}{
		{"no key", "/v1/addresses/auto/" + lazarus, "", 401, "unauthenticated"},
		{"unknown key", "/v1/addresses/auto/" + lazarus, "th_not-a-key", 401, "unauthenticated"},
		{"revoked key", "/v1/addresses/auto/" + lazarus, f.none, 401, "unauthenticated"},
		{"screen key on metrics", "/metrics", f.screenKey, 403, "forbidden"},
		{"unknown route", "/v1/nothing", f.screenKey, 404, "not_found"},
	} {
		resp, body := f.do(t, "GET", tc.path, tc.key, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
			continue
		}
		e := decodeError(t, body)
		if e.Error.Code != tc.code || e.Error.RequestID == "" || e.Error.RequestID != resp.Header.Get("X-Request-Id") {
			t.Errorf("%s: error %+v, request id header %q", tc.name, e, resp.Header.Get("X-Request-Id"))
		}
		if strings.Contains(string(body), f.none) {
			t.Errorf("%s: the key leaks into the response", tc.name)
		}
	}
	// The admin role includes the others.
	if resp, body := f.do(t, "GET", "/metrics", f.adminKey, nil); resp.StatusCode != 200 || !bytes.Contains(body, []byte("tracehound_")) {
		t.Errorf("metrics with admin key: %s %.200s", resp.Status, body)
	}
}

func TestScreenOne(t *testing.T) {
	f := newFixture(t, 0)
	resp, body := f.do(t, "GET", "/v1/addresses/auto/"+lazarus, f.screenKey, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	var r struct {
		Address    string `json:"address"`
		Chain      string `json:"chain"`
		Risk       string `json:"risk"`
		Sanctioned bool   `json:"sanctioned"`
		Sanctions  []struct {
			Party    string   `json:"party"`
			Programs []string `json:"programs"`
		} `json:"sanctions"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if !r.Sanctioned || r.Risk != "severe" || r.Chain != "eth" || r.Address != strings.ToLower(lazarus) ||
		len(r.Sanctions) != 1 || r.Sanctions[0].Party != "LAZARUS GROUP" || r.Sanctions[0].Programs[0] != "DPRK3" {
		t.Errorf("result %s", body)
	}
	// A wrong EIP-55 checksum is an error that says so.
	resp, body = f.do(t, "GET", "/v1/addresses/eth/0x098b716B8Aaf21512996dC57EB0615e2383E2f96", f.screenKey, nil)
	if resp.StatusCode != 400 {
		t.Fatalf("bad checksum: %s %s", resp.Status, body)
	}
	if e := decodeError(t, body); e.Error.Reason != "checksum" {
		t.Errorf("bad checksum: %+v", e)
	}
}

func TestScreenBatch(t *testing.T) {
	f := newFixture(t, 10)
	req := map[string]any{"addresses": []any{
		lazarus,
		"0x28C6C06298D514DB089934071355E5743BF21D60",
		map[string]string{"address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "chain": "BTC"},
		"0x098b716B8Aaf21512996dC57EB0615e2383E2f96",
		"not an address",
	}}
	resp, body := f.do(t, "POST", "/v1/screen", f.screenKey, req)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	var out struct {
		Summary struct {
			Total, Invalid, Sanctioned int
			ByRisk                     map[string]int `json:"by_risk"`
		} `json:"summary"`
		Results []struct {
			Input        string `json:"input"`
			Risk         string `json:"risk"`
			Attributions []struct {
				Entity, Category string
			} `json:"attributions"`
			Error *struct{ Reason string } `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out.Summary.Total != 5 || out.Summary.Invalid != 2 || out.Summary.Sanctioned != 1 || len(out.Results) != 5 {
		t.Fatalf("summary %+v", out.Summary)
	}
	if r := out.Results[0]; r.Risk != "severe" || r.Input != lazarus {
		t.Errorf("result 0: %+v", r)
	}
	if r := out.Results[1]; len(r.Attributions) != 1 || r.Attributions[0].Entity != "Binance" || r.Attributions[0].Category != "exchange" {
		t.Errorf("result 1: %+v", r)
	}
	if r := out.Results[2]; r.Error != nil || r.Risk == "" {
		t.Errorf("result 2: %+v", r)
	}
	if r := out.Results[3]; r.Error == nil || r.Error.Reason != "checksum" {
		t.Errorf("result 3: %+v", r)
	}
	if r := out.Results[4]; r.Error == nil || r.Error.Reason != "unknown" {
		t.Errorf("result 4: %+v", r)
	}
}

func TestScreenLimits(t *testing.T) {
	f := newFixture(t, 10)
	many := make([]string, 11)
	for i := range many {
		many[i] = lazarus
	}
	resp, body := f.do(t, "POST", "/v1/screen", f.screenKey, map[string]any{"addresses": many})
	if resp.StatusCode != 413 || decodeError(t, body).Error.Code != "too_many_addresses" {
		t.Errorf("11 addresses over a limit of 10: %s %s", resp.Status, body)
	}
	big := []byte(fmt.Sprintf(`{"addresses":["%s"]}`, strings.Repeat("a", 2<<20)))
	resp, body = f.do(t, "POST", "/v1/screen", f.screenKey, big)
	if resp.StatusCode != 413 {
		t.Errorf("2 MiB body over a 1 MiB limit: %s %.200s", resp.Status, body)
	}
	for _, bad := range []string{`{`, `{"addresses": 5}`, `{"addresses": []}`, `[1,2]`} {
		resp, body = f.do(t, "POST", "/v1/screen", f.screenKey, []byte(bad))
		if resp.StatusCode != 400 || decodeError(t, body).Error.Code == "" {
			t.Errorf("%s: %s %s", bad, resp.Status, body)
		}
	}
}
