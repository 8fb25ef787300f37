package audit

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Head is a signed statement that the log's entry Seq has hash Hash: as
// the hash chains every entry before it, a head fixes the whole log up to
// Seq. The node signs heads with its key; a partner or the operator who
// records one (the String form fits a line of an email or a ticket) can
// later check that the log still holds it (Verify). Seq 0 with the hash
// of zeros is the empty log.
type Head struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"` // when the node signed it
	// Signature is the ed25519 signature of the head's message (see
	// message) under PublicKey, both in hex.
	Signature string `json:"signature"`
	PublicKey string `json:"public_key"`
}

// headPrefix starts a head's text form; the version is that of the
// signed message too.
const headPrefix = "tracehound-audit-head/1"

// message is what a head's signature covers: a domain-separated, fixed
// text, so that no other signed data can pass for a head.
func (h Head) message() []byte {
	return fmt.Appendf(nil, "%s\nseq %d\nhash %s\ntime %s\n", headPrefix, h.Seq, h.Hash, h.Time.UTC().Format(time.RFC3339Nano))
}

// signHead signs the head at seq with hash h.
func signHead(k *Key, seq uint64, hash string, now time.Time) Head {
	h := Head{Seq: seq, Hash: hash, Time: now.UTC().Truncate(time.Microsecond), PublicKey: k.PublicHex()}
	h.Signature = hex.EncodeToString(k.sign(h.message()))
	return h
}

// ErrBadSignature reports a head whose signature does not verify.
var ErrBadSignature = errors.New("audit head: bad signature")

// Check verifies the head's signature under its own public key. Whether
// that key is the node's is for the caller to say: compare PublicKey
// with the key it recorded.
func (h Head) Check() error {
	if err := h.checkForm(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	pub, _ := hex.DecodeString(h.PublicKey)
	sig, _ := hex.DecodeString(h.Signature)
	if !ed25519.Verify(pub, h.message(), sig) {
		return fmt.Errorf("%w at entry %d (key %s)", ErrBadSignature, h.Seq, h.PublicKey)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// String is the head's one-line text form:
//
//	tracehound-audit-head/1 seq=N hash=HEX time=RFC3339NANO key=HEX sig=HEX
func (h Head) String() string {
	return fmt.Sprintf("%s seq=%d hash=%s time=%s key=%s sig=%s", headPrefix, h.Seq, h.Hash, h.Time.UTC().Format(time.RFC3339Nano), h.PublicKey, h.Signature)
}

// ParseHead reads a head in its text form (String) or as JSON. It checks
// the form only; Check verifies the signature.
func ParseHead(s string) (Head, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var h Head
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return Head{}, fmt.Errorf("audit head: %w", err)
		}
		if dec.More() {
			return Head{}, errors.New("audit head: text after the JSON object")
		}
		if h.Time.IsZero() {
			return Head{}, errors.New("audit head: no time")
		}
		return h, h.checkForm()
	}
	fields := strings.Fields(s)
	if len(fields) != 6 || fields[0] != headPrefix {
		return Head{}, fmt.Errorf("audit head: want %q and five fields seq= hash= time= key= sig=", headPrefix)
	}
	var h Head
	for i, name := range []string{"seq", "hash", "time", "key", "sig"} {
		v, ok := strings.CutPrefix(fields[i+1], name+"=")
		if !ok || v == "" {
			return Head{}, fmt.Errorf("audit head: field %d: want %s=", i+2, name)
		}
		var err error
		switch name {
		case "seq":
			h.Seq, err = strconv.ParseUint(v, 10, 64)
		case "hash":
			h.Hash = v
		case "time":
			h.Time, err = time.Parse(time.RFC3339Nano, v)
		case "key":
			h.PublicKey = v
		case "sig":
			h.Signature = v
		}
		if err != nil {
			return Head{}, fmt.Errorf("audit head: %s: %w", name, err)
		}
	}
	return h, h.checkForm()
}

// checkForm checks that the head's hex fields have their lengths.
func (h Head) checkForm() error {
	for _, f := range []struct {
		name, v string
		n       int
	}{{"hash", h.Hash, 32}, {"public key", h.PublicKey, ed25519.PublicKeySize}, {"signature", h.Signature, ed25519.SignatureSize}} {
		if len(f.v) != 2*f.n || !isHex(f.v) {
			return fmt.Errorf("audit head at entry %d: %s %q is not %d bytes in lower-case hex", h.Seq, f.name, f.v, f.n)
		}
	}
	return nil
}

// equal reports whether two heads are the same signed statement.
func (h Head) equal(o Head) bool {
	return h.Seq == o.Seq && h.Hash == o.Hash && h.Time.Equal(o.Time) && h.Signature == o.Signature && h.PublicKey == o.PublicKey
}

// detail and headFromDetail carry a head in a checkpoint entry.
func (h Head) detail() map[string]string {
	return map[string]string{"seq": strconv.FormatUint(h.Seq, 10), "hash": h.Hash, "time": h.Time.UTC().Format(time.RFC3339Nano),
		"public_key": h.PublicKey, "signature": h.Signature}
}

func headFromDetail(d map[string]string) (Head, error) {
	var h Head
	var err error
	if h.Seq, err = strconv.ParseUint(d["seq"], 10, 64); err != nil {
		return Head{}, fmt.Errorf("seq: %w", err)
	}
	if h.Time, err = time.Parse(time.RFC3339Nano, d["time"]); err != nil {
		return Head{}, fmt.Errorf("time: %w", err)
	}
	h.Hash, h.PublicKey, h.Signature = d["hash"], d["public_key"], d["signature"]
	return h, nil
}
