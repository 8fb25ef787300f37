package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHeadForms(t *testing.T) {
	k, _ := GenerateKey(nil)
	h := signHead(k, 41, strings.Repeat("ab", 32), time.Date(2025, 2, 21, 14, 13, 0, 123456000, time.FixedZone("KST", 9*3600)))
	if err := h.Check(); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(h)
	for _, form := range []string{h.String(), string(js), "  " + h.String() + "\n"} {
		got, err := ParseHead(form)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if !got.equal(h) || got.Check() != nil {
			t.Errorf("%s: read back as %+v", form, got)
		}
	}
	// Every signed field is covered.
	for name, change := range map[string]func(*Head){
		"seq":  func(h *Head) { h.Seq++ },
		"hash": func(h *Head) { h.Hash = strings.Repeat("ac", 32) },
		"time": func(h *Head) { h.Time = h.Time.Add(time.Microsecond) },
		"key": func(h *Head) {
			o, _ := GenerateKey(nil)
			h.PublicKey = o.PublicHex()
		},
	} {
		c := h
		change(&c)
		if c.Check() == nil {
			t.Errorf("a head with its %s changed verifies", name)
		}
	}
	for _, bad := range []string{
		"",
		"tracehound-audit-head/2 seq=1 hash=a time=2025-01-01T00:00:00Z key=a sig=a",
		"tracehound-audit-head/1 seq=x hash=a time=2025-01-01T00:00:00Z key=a sig=a",
		"tracehound-audit-head/1 hash=a seq=1 time=2025-01-01T00:00:00Z key=a sig=a",
		"tracehound-audit-head/1 seq=1 hash=a time=yesterday key=a sig=a",
		`{"seq":1,"hash":"a"}`,
		`{"seq":1,"hash":"a","time":"2025-01-01T00:00:00Z","signature":"a","public_key":"b","extra":1}`,
		string(js) + " {}",
	} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseHead: whatever parses prints and parses back to the same head.
func FuzzParseHead(f *testing.F) {
	k, _ := GenerateKey(bytes.NewReader(make([]byte, 64)))
	h := signHead(k, 7, strings.Repeat("0f", 32), time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC))
	js, _ := json.Marshal(h)
	f.Add(h.String())
	f.Add(string(js))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHead(s)
		if err != nil {
			return
		}
		again, err := ParseHead(h.String())
		if err != nil {
			t.Fatalf("%q: printed as %q, which does not parse: %v", s, h.String(), err)
		}
		if !again.equal(h) {
			t.Fatalf("%q: %+v, then %+v", s, h, again)
		}
		if (h.Check() == nil) != (again.Check() == nil) {
			t.Fatalf("%q: the signature's verdict changed in the round trip", s)
		}
	})
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFile)
	k, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created || again.PublicHex() != k.PublicHex() {
		t.Fatalf("reload: %v %v %v", again, created, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".audit-key-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// The secret never prints, logs or encodes.
	secret := hex.EncodeToString(k.priv.Seed())
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("started", "key", k)
	js, _ := json.Marshal(struct{ K *Key }{k})
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), logged.String(), string(js)} {
		if strings.Contains(s, secret) || strings.Contains(s, hex.EncodeToString(k.priv)) || strings.Contains(s, fmt.Sprint([]byte(k.priv))) {
			t.Errorf("the secret shows in %q", s)
		}
		if !strings.Contains(s, k.PublicHex()) {
			t.Errorf("%q does not name the public key", s)
		}
	}
	// A key others may read is refused; so is what is not a key.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreateKey(bad); err == nil {
		t.Error("a file that is not a key was taken")
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key loaded")
	}
}
