package ada_test

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/ada"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// CIP-19's test vectors (cardano-foundation/CIPs, CIP-0019/README.md,
// "Test Vectors"), by header type, over one payment key hash, one stake
// key hash, one script hash and the pointer (2498243, 27, 3).
var (
	cip19Mainnet = map[int]string{
		0:  "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x",
		1:  "addr1z8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs9yc0hh",
		2:  "addr1yx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs2z78ve",
		3:  "addr1x8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shskhj42g",
		4:  "addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrzqf96k",
		5:  "addr128phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcrtw79hu",
		6:  "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8",
		7:  "addr1w8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcyjy7wx",
		14: "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
		15: "stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5",
	}
	cip19Testnet = map[int]string{
		0:  "addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae",
		1:  "addr_test1zrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgsxj90mg",
		2:  "addr_test1yz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shsf5r8qx",
		3:  "addr_test1xrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs4p04xh",
		4:  "addr_test1gz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrdw5vky",
		5:  "addr_test12rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcryqrvmw",
		6:  "addr_test1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerspjrlsz",
		7:  "addr_test1wrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcl6szpr",
		14: "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn",
		15: "stake_test17rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcljw6kf",
	}
)

const (
	paymentKeyHash = "9493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e"
	stakeKeyHash   = "337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"
	scriptHash     = "c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"
)

// Byron addresses: CIP-19's example (a test network's), the example of
// cardano-wallet's "Byron address format" design notes, and the Daedalus
// and Yoroi addresses of IOG's cardano-js-sdk tests.
var byron = map[string]chain.Network{
	"37btjrVyb4KDXBNC4haBVPCrro8AQPHwvCMp3RFhhSVWwfFmZ6wwzSK6JK1hY6wHNmtrpTf1kdbva8TCneM2YsiXT7mrzT21EacHnPpz5YyUdj64na": chain.Testnet,
	"Ae2tdPwUPEZLs4HtbuNey7tK4hTKrwNwYtGqp7bDfCy2WdR3P6735W5Yfpe":                                                        chain.Mainnet,
	"DdzFFzCqrht4PWfBGtmrQz4x1GkZHYLVGbK7aaBkjWxujxzz3L5GxCgPiTsks5RjUr3yX9KvwKjNJBt7ZzPCmS3fUQrGeRvo9Y1YBQKQ":           chain.Mainnet,
	"Ae2tdPwUPEZKkyZinWnudbNtHQddCyc6bCwLVoQx4GfH1NvwztGRpRkewTe":                                                        chain.Mainnet,
}

func TestCIP19(t *testing.T) {
	kinds := map[int]string{0: "base", 1: "base", 2: "base", 3: "base", 4: "pointer", 5: "pointer", 6: "enterprise", 7: "enterprise", 14: "reward", 15: "reward"}
	for net, vectors := range map[chain.Network]map[int]string{chain.Mainnet: cip19Mainnet, chain.Testnet: cip19Testnet} {
		for typ, s := range vectors {
			a, err := ada.Codec{}.Parse(s)
			if err != nil || a.Kind != kinds[typ] || a.Network != net || a.Value != s {
				t.Errorf("type %d %s: %+v %v", typ, s, a, err)
			}
			if a2, err := (ada.Codec{}).Parse(strings.ToUpper(s)); err != nil || a2 != a {
				t.Errorf("upper case %s: %+v %v", s, a2, err)
			}
		}
	}
}

// TestCIP19Payloads decodes the vectors with btcutil's bech32 and finds
// the credentials and the pointer CIP-19 built them from.
func TestCIP19Payloads(t *testing.T) {
	pointer := hex.EncodeToString(append(append(natural(2498243), natural(27)...), natural(3)...))
	for typ, want := range map[int]string{
		0:  "01" + paymentKeyHash + stakeKeyHash,
		3:  "31" + scriptHash + scriptHash,
		4:  "41" + paymentKeyHash + pointer,
		6:  "61" + paymentKeyHash,
		14: "e1" + stakeKeyHash,
	} {
		if got := codectest.Bech32Payload(t, cip19Mainnet[typ]); got != want {
			t.Errorf("type %d: payload %s, want %s", typ, got, want)
		}
	}
}

// natural writes a pointer component: seven bits a byte, most significant
// first.
func natural(v uint64) []byte {
	out := []byte{byte(v & 0x7f)}
	for v >>= 7; v > 0; v >>= 7 {
		out = append([]byte{byte(v&0x7f) | 0x80}, out...)
	}
	return out
}

func TestByron(t *testing.T) {
	for s, net := range byron {
		a, err := ada.Codec{}.Parse(s)
		if err != nil || a.Kind != "byron" || a.Network != net || a.Value != s {
			t.Errorf("%s: %+v %v", s, a, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	base := cip19Mainnet[0]
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{base[:len(base)-1] + "y", chain.ReasonChecksum, ""},
		{"addr1Qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x", chain.ReasonFormat, "valid in lower case: " + base},
		// CIP-19's own table of examples writes a header whose network
		// tag (0, test) contradicts the mainnet part: refused.
		{"addr1vpu5vlrf4xkxv2qpwngf6cjhtw542ayty80v8dyr49rf5eg0yu80w", chain.ReasonNetwork, ""},
		{"stake1vpu5vlrf4xkxv2qpwngf6cjhtw542ayty80v8dyr49rf5egfu2p0u", chain.ReasonNetwork, ""},
		// A payment header under stake, an enterprise payload one byte short.
		{codectest.Bech32(t, "stake", append([]byte{0x61}, make([]byte, 28)...), false), chain.ReasonFormat, ""},
		{codectest.Bech32(t, "addr", append([]byte{0x61}, make([]byte, 27)...), false), chain.ReasonLength, ""},
		{codectest.Bech32(t, "addr", append([]byte{0x61}, make([]byte, 28)...), true), chain.ReasonChecksum, ""},
		// A Byron address with its last character changed.
		{"Ae2tdPwUPEZLs4HtbuNey7tK4hTKrwNwYtGqp7bDfCy2WdR3P6735W5Yfpf", chain.ReasonChecksum, ""},
		// Base58 that is not a Byron address: Bitcoin's genesis address.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonFormat, ""},
	} {
		_, err := ada.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	var addrs []string
	for _, v := range []map[int]string{cip19Mainnet, cip19Testnet} {
		for _, s := range v {
			addrs = append(addrs, s)
		}
	}
	for i := 0; len(addrs) < 200; i++ {
		switch i % 3 {
		case 0:
			addrs = append(addrs, codectest.Bech32(t, "addr", append([]byte{0x01}, codectest.Bytes(r, 56)...), false))
		case 1:
			addrs = append(addrs, codectest.Bech32(t, "addr", append([]byte{0x61}, codectest.Bytes(r, 28)...), false))
		default:
			addrs = append(addrs, codectest.Bech32(t, "stake", append([]byte{0xe1}, codectest.Bytes(r, 28)...), false))
		}
	}
	codectest.MustParse(t, ada.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, ada.Codec{}, addrs, codectest.Bech32Alphabet, 200)
	var by []string
	for s := range byron {
		by = append(by, s)
	}
	for len(by) < 50 {
		by = append(by, icarus(codectest.Bytes(r, 28)))
	}
	codectest.MustParse(t, ada.Codec{}, by)
	codectest.RefuseSubstitutions(t, ada.Codec{}, by, codectest.Base58Alphabet, 50)
}

// icarus writes a mainnet Byron address without attributes, the test's
// own CBOR: [#6.24(bytes [root, {}, 0]), crc32].
func icarus(root []byte) string {
	payload := append(append([]byte{0x83, 0x58, 0x1c}, root...), 0xa0, 0x00)
	b := append([]byte{0x82, 0xd8, 0x18, 0x58, byte(len(payload))}, payload...)
	b = append(b, 0x1a)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(payload))
	return base58.Encode(b)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, ada.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	addrs := append(slices.Sorted(maps.Values(cip19Mainnet)), slices.Sorted(maps.Keys(byron))...)
	codectest.BenchParse(b, ada.Codec{}, addrs)
}
