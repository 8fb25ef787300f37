// Package codectest holds what the address codecs' tests share: the OFAC
// per-asset lists, single-character substitutions, the fuzz round trip
// and the parse benchmark.
package codectest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
)

// DataDir returns the shared data set beside the repository, which must
// hold the OFAC lists: missing, it skips the test, or fails it under
// CI=true (chaintest.SharedData).
func DataDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(chaintest.SharedData(t, "ofac"))
}

// ListAssets are the assets of the 2025-11-19 per-asset lists.
var ListAssets = []string{"XBT", "ETH", "USDT", "USDC", "TRX", "LTC", "BCH", "BSV", "BTG", "DASH", "ZEC", "XMR", "XRP", "XVG", "SOL", "ETC", "ARB", "BSC", "BNB"}

// List returns the addresses OFAC lists for asset on 2025-11-19, one a
// line as the file has them.
func List(t testing.TB, asset string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(DataDir(t), "ofac", "lists-2025-11-19", "sanctioned_addresses_"+asset+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: empty list", asset)
	}
	return out
}

// MustParse parses every address with c and checks the chain, that the
// parse is not opaque and that the canonical form parses to itself.
func MustParse(t testing.TB, c chain.Codec, addrs []string) []chain.Address {
	t.Helper()
	out := make([]chain.Address, 0, len(addrs))
	for _, s := range addrs {
		a, err := c.Parse(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if a.Chain != c.Chain() || a.Kind == "" || a.Kind == "opaque" || a.Value == "" {
			t.Errorf("%s: parsed as %+v", s, a)
		}
		if b, err := c.Parse(a.Value); err != nil || b != a {
			t.Errorf("%s: canonical %q parses as %+v, %v", s, a.Value, b, err)
		}
		if !c.Looks(s) {
			t.Errorf("%s: Looks is false", s)
		}
		out = append(out, a)
	}
	return out
}

// Substitutions replaces each character of each address in turn by every
// other character of alphabet and returns how many of those strings were
// tried and the ones c accepted.
func Substitutions(c chain.Codec, addrs []string, alphabet string) (tried int, accepted []string) {
	for _, s := range addrs {
		b := []byte(s)
		for i := range b {
			orig := b[i]
			for j := 0; j < len(alphabet); j++ {
				if alphabet[j] == orig {
					continue
				}
				b[i] = alphabet[j]
				tried++
				if _, err := c.Parse(string(b)); err == nil {
					accepted = append(accepted, string(b))
				}
			}
			b[i] = orig
		}
	}
	return tried, accepted
}

// RefuseSubstitutions fails t unless every single-character substitution
// of every address is refused; it wants at least min addresses.
func RefuseSubstitutions(t *testing.T, c chain.Codec, addrs []string, alphabet string, min int) {
	t.Helper()
	if len(addrs) < min {
		t.Fatalf("%d addresses, want at least %d", len(addrs), min)
	}
	tried, accepted := Substitutions(c, addrs, alphabet)
	for i, s := range accepted {
		if i == 10 {
			t.Errorf("... %d in all", len(accepted))
			break
		}
		t.Errorf("substitution accepted: %s", s)
	}
	t.Logf("%d addresses, %d substitutions, all refused: %v", len(addrs), tried, len(accepted) == 0)
}

// Rand is a deterministic source for generated addresses.
func Rand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Bytes returns n random bytes from r.
func Bytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// CheckRoundTrip is the body of a codec's fuzz target: a refused string
// carries a known reason; an accepted one has a canonical form that
// parses to the same address (so parsing is idempotent) and that Looks
// recognises.
func CheckRoundTrip(t *testing.T, c chain.Codec, s string) {
	c.Looks(s) // must not panic on any input
	a, err := c.Parse(s)
	if err != nil {
		switch chain.ErrorReason(err) {
		case chain.ReasonEmpty, chain.ReasonFormat, chain.ReasonLength, chain.ReasonChecksum, chain.ReasonNetwork:
		default:
			t.Fatalf("%q: error without a known reason: %v", s, err)
		}
		return
	}
	if a.Value == "" || a.Chain != c.Chain() || a.Kind == "" {
		t.Fatalf("%q: parsed as %+v", s, a)
	}
	b, err := c.Parse(a.Value)
	if err != nil || b != a {
		t.Fatalf("%q: canonical %q parses as %+v, %v; first %+v", s, a.Value, b, err, a)
	}
	if !c.Looks(a.Value) {
		t.Fatalf("%q: Looks(%q) is false", s, a.Value)
	}
}

// BenchParse parses the addresses round robin; every one must parse.
func BenchParse(b *testing.B, c chain.Codec, addrs []string) {
	if len(addrs) == 0 {
		b.Fatal("no addresses")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Parse(addrs[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(addrs) {
			i = 0
		}
	}
}

// Base58Alphabet is Bitcoin's base58 alphabet.
const Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Bech32Alphabet is bech32's data alphabet in both cases: an upper-case
// letter in a lower-case string is a mixed-case error.
const Bech32Alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7lQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"

// Base58Check encodes version and payload with btcutil's base58 and a
// double SHA-256 checksum written here, independently of the codecs.
func Base58Check(version, payload []byte) string {
	b := append(append([]byte{}, version...), payload...)
	h := sha256.Sum256(b)
	h = sha256.Sum256(h[:])
	return base58.Encode(append(b, h[:4]...))
}

// GenBase58Check returns n addresses under the given version prefixes,
// round robin, each over a random payload of size bytes.
func GenBase58Check(r *rand.Rand, n, size int, versions ...[]byte) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Base58Check(versions[i%len(versions)], Bytes(r, size))
	}
	return out
}

// GenSegwit returns n segwit addresses under hrp encoded by btcutil's
// bech32: v0 programs of 20 and 32 bytes and v1 programs of 32, round
// robin.
func GenSegwit(t testing.TB, r *rand.Rand, hrp string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		v, size := byte(0), 20
		switch i % 3 {
		case 1:
			size = 32
		case 2:
			v, size = 1, 32
		}
		conv, err := bech32.ConvertBits(Bytes(r, size), 8, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		enc := bech32.Encode
		if v > 0 {
			enc = bech32.EncodeM
		}
		if out[i], err = enc(hrp, append([]byte{v}, conv...)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Bech32 encodes payload bytes under hrp with btcutil's bech32 (or
// bech32m), without a witness version.
func Bech32(t testing.TB, hrp string, payload []byte, m bool) string {
	t.Helper()
	conv, err := bech32.ConvertBits(payload, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	enc := bech32.Encode
	if m {
		enc = bech32.EncodeM
	}
	s, err := enc(hrp, conv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Bech32Program returns the hex of a segwit address's witness program,
// decoded by btcutil's bech32.
func Bech32Program(t testing.TB, s string) string {
	t.Helper()
	_, data, err := bech32.DecodeNoLimit(s)
	if err != nil || len(data) < 1 {
		t.Fatalf("%s: %v", s, err)
	}
	prog, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(prog)
}

// Bech32Values returns the 5-bit values of bech32 data characters.
func Bech32Values(data string) []byte {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	out := make([]byte, len(data))
	for i := 0; i < len(data); i++ {
		out[i] = byte(strings.IndexByte(charset, data[i]))
	}
	return out
}

// Bech32Data encodes 5-bit values under hrp with btcutil's bech32 (or
// bech32m).
func Bech32Data(t testing.TB, hrp string, values []byte, m bool) string {
	t.Helper()
	enc := bech32.Encode
	if m {
		enc = bech32.EncodeM
	}
	s, err := enc(hrp, values)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Bech32Payload returns the hex of a bech32 string's data part as bytes,
// decoded by btcutil's bech32.
func Bech32Payload(t testing.TB, s string) string {
	t.Helper()
	_, data, err := bech32.DecodeNoLimit(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
