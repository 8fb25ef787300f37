package intel_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/intel"
)

var validPatterns = []string{
	"[cryptocurrency-wallet:value = 'bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6']",
	"[ipv4-addr:value = '10.0.0.0']",
	"[ ipv4-addr:value = '10.0.0.0' ]",
	"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
	"[file:hashes.md5 = 'x' OR file:hashes.sha1 = 'y' AND file:size > 10]",
	"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
	"[network-traffic:dst_ref.value = '203.0.113.1' AND network-traffic:dst_port = 443]",
	"[a:b[0] = 1] AND [a:b[-1] != -1]",
	"[x:y == +0.5] OR [x:y <> -.5]",
	"[x:y < 1] FOLLOWEDBY [x:y <= 2] FOLLOWEDBY [x:y >= 3.0]",
	"([a:b = 'c'] OR [d:e = 'f']) AND [g:h = 'i']",
	"[a:b = 'c'] WITHIN 5 SECONDS",
	"[a:b = 'c'] WITHIN 2.5 SECONDS REPEATS 3 TIMES",
	"([a:b = 'c'] FOLLOWEDBY [d:e = 'f']) START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.123Z'",
	"([a:b = 'c'] WITHIN 5 SECONDS) WITHIN 10 SECONDS",
	"[file:name NOT = 'a'] AND [file:name NOT IN ('a', 'b', 1, true)]",
	"[file:size IN ()]",
	"[user-account:account_login LIKE 'ad%' OR user-account:account_login MATCHES '^r.+t$']",
	"[ipv4-addr:value ISSUBSET '198.51.100.0/24'] OR [ipv4-addr:value NOT ISSUPERSET '198.51.100.0/24']",
	"[EXISTS x:y] AND [NOT EXISTS x:z.w]",
	"[(a:b = 1 OR a:c = 2) AND a:d = 3]",
	"[artifact:payload_bin = b'dGVzdA==' AND artifact:payload_bin = b'YWJj' AND artifact:x = b'YQ==']",
	"[x509-certificate:serial_number = h'0aFF' AND x:y = h'']",
	"[process:created = t'2014-01-13T07:03:17Z']",
	"[x:y = true] OR [x:y = false]",
	"[x:'a b'.'c\\'d'.'e\\\\f' = 'it\\'s']",
	"[x-crypto-wallet:value = 'q'] /* block comment */ OR // line comment\n [a:b = 'c']",
	"[a:b\u00a0=\u3000'c']",
	"[file:name = 'caf\u00e9 \U0001F600']",
	"[a:t = 1 AND a:h = 2 AND a:b = 3]",
	"[_a:_b = 0]",
	"[a-:b = 0]",
	"[a:b = 'c'] REPEATS +2 TIMES",
}

var invalidPatterns = []string{
	"",
	"   ",
	"[]",
	"[a:b]",
	"[a:b =]",
	"[a:b = c]",
	"[a:b = 'c'",
	"a:b = 'c'",
	"[a:b = 'c']]",
	"[a:b = 'c\\d']",              // only \' and \\ are escapes
	"[a:b = 'unterminated]",       // string runs to the end
	"[a:'b' = 'c'] AND",           // dangling operator
	"[a:b = 'c'] and [d:e = 'f']", // keywords are upper-case
	"[a:b-c = 'd']",               // a property with a hyphen must be quoted
	"[a:b.c-d = 'e']",
	"[a:b = 'c'] WITHIN 5",
	"[a:b = 'c'] WITHIN -5 SECONDS",
	"[a:b = 'c'] WITHIN 0 SECONDS",
	"[a:b = 'c'] REPEATS 0 TIMES",
	"[a:b = 'c'] REPEATS 2.5 TIMES",
	"[a:b = 'c'] WITHIN 5 SECONDS WITHIN 6 SECONDS", // two qualifiers of one kind
	"[a:b = 'c'] REPEATS 2 TIMES WITHIN 5 SECONDS REPEATS 3 TIMES",
	"[a:b = 'c'] START t'2016-06-01T00:00:00Z'",
	"[a:b = 'c'] START '2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	"[a:b = t'2016-13-01T00:00:00Z']",
	"[a:b = t'2016-06-01T00:00:00+01:00']",
	"[a:b = t'2016-06-01 00:00:00Z']",
	"[a:b = h'abc']",
	"[a:b = h'zz']",
	"[a:b = b'abc']",
	"[a:b = b'']",
	"[a:b = b'a===']",
	"[a:b > true]",        // booleans are not ordered
	"[a:b LIKE 5]",        // LIKE takes a string
	"[a:b IN 'c']",        // IN takes a set
	"[a:b IN ('c',)]",     // trailing comma
	"[a:b = 007]",         // ANTLR lexes 0, 0, 7
	"[a:b[1.5] = 'c']",    // index must be an integer
	"[a:b = 'c'] /* open", // unterminated comment
	"[a:b ! 'c']",         //
	"[a:b = 'c'] # x",     // stray character
	"[AND:b = 'c']",       // keyword as object type
	"[a:true = 'c']",      // bool as property name
	"[a:b = 'c'] FOLLOWEDBY",
	"([a:b = 'c']",
	"[a:b = 'c'])",
	"[a:b = 'c' OR]",
	"[NOT a:b = 'c']",
	"[a:b NOT EXISTS]",
	"[a:b = 'c']\xff",
	"[a:b = 1 2]",
	"[a:b = -]",
	"[a:b = 'c'] LAST 5 SECONDS", // LAST is reserved, not a qualifier
	"[a:.b = 'c']",
}

func TestParsePatternValid(t *testing.T) {
	for _, s := range validPatterns {
		p, err := intel.ParsePattern(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		// The normal form parses back to the same tree.
		q, err := intel.ParsePattern(p.String())
		if err != nil {
			t.Errorf("%q: normal form %q: %v", s, p.String(), err)
			continue
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%q: normal form %q parses differently", s, p.String())
		}
	}
}

func TestParsePatternInvalid(t *testing.T) {
	for _, s := range invalidPatterns {
		if p, err := intel.ParsePattern(s); err == nil {
			t.Errorf("%q accepted as %s", s, p)
		} else if !strings.HasPrefix(err.Error(), "pattern: ") {
			t.Errorf("%q: error without context: %v", s, err)
		}
	}
}

func TestParsePatternDepth(t *testing.T) {
	deep := strings.Repeat("(", 5000) + "[a:b = 'c']" + strings.Repeat(")", 5000)
	if _, err := intel.ParsePattern(deep); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("got %v", err)
	}
	deepCmp := "[" + strings.Repeat("(", 5000) + "a:b = 'c'" + strings.Repeat(")", 5000) + "]"
	if _, err := intel.ParsePattern(deepCmp); err == nil {
		t.Error("deep comparison nesting accepted")
	}
	ok := strings.Repeat("(", 50) + "[a:b = 'c']" + strings.Repeat(")", 50)
	if _, err := intel.ParsePattern(ok); err != nil {
		t.Error(err)
	}
}

func TestParsePatternTree(t *testing.T) {
	p, err := intel.ParsePattern("[a:b = 'x' OR c:d = 'y' AND c:e = 'z'] FOLLOWEDBY [f:'g h'[*].i NOT LIKE 'j%'] WITHIN 60 SECONDS")
	if err != nil {
		t.Fatal(err)
	}
	root, ok := p.Root.(*intel.ObservationOp)
	if !ok || root.Op != "FOLLOWEDBY" {
		t.Fatalf("root %#v", p.Root)
	}
	// AND binds tighter than OR inside brackets.
	or := root.Left.(*intel.Observation).Expr.(*intel.ComparisonOp)
	if or.Op != "OR" || or.Right.(*intel.ComparisonOp).Op != "AND" {
		t.Errorf("precedence: %s", or)
	}
	q := root.Right.(*intel.Qualified)
	if q.Qualifier.Kind != "WITHIN" || q.Qualifier.Value != "60" {
		t.Errorf("qualifier %+v", q.Qualifier)
	}
	cs := p.Comparisons()
	if len(cs) != 4 {
		t.Fatalf("%d comparisons", len(cs))
	}
	last := cs[3]
	want := intel.ObjectPath{ObjectType: "f", Steps: []intel.PathStep{{Key: "g h"}, {Index: "*", IsIndex: true}, {Key: "i"}}}
	if !reflect.DeepEqual(last.Path, want) || !last.Negated || last.Op != "LIKE" || last.Value.Str != "j%" {
		t.Errorf("%#v", last)
	}
	if got := p.String(); got != "[a:b = 'x' OR c:d = 'y' AND c:e = 'z'] FOLLOWEDBY [f:'g h'[*].i NOT LIKE 'j%'] WITHIN 60 SECONDS" {
		t.Errorf("String: %s", got)
	}
}

func TestWalletAddresses(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"[cryptocurrency-wallet:value = 'bc1qa']", []string{"bc1qa"}},
		{"[cryptocurrency-wallet:value = 'a'] OR [cryptocurrency-wallet:value == 'b'] OR [cryptocurrency-wallet:value = 'a']", []string{"a", "b"}},
		{"[x-crypto-wallet:value = 'legacy' OR x-crypto-wallet:address = 'older' OR cryptocurrency-wallet:address = 'oldest']", []string{"legacy", "older", "oldest"}},
		{"[cryptocurrency-wallet:value IN ('a', 'b', 3)]", []string{"a", "b"}},
		{"[cryptocurrency-wallet:value = 'it\\'s\\\\odd']", []string{`it's\odd`}},
		// Excluded, compared otherwise, or not a wallet: nothing.
		{"[cryptocurrency-wallet:value NOT = 'a']", nil},
		{"[cryptocurrency-wallet:value != 'a']", nil},
		{"[cryptocurrency-wallet:value LIKE 'bc1%']", nil},
		{"[cryptocurrency-wallet:value MATCHES '^0x']", nil},
		{"[cryptocurrency-wallet:holder_ref = 'identity--x']", nil},
		{"[cryptocurrency-wallet:value.x = 'a']", nil},
		{"[ipv4-addr:value = '10.0.0.1']", nil},
		{"[cryptocurrency-wallet:value = 5]", nil},
		{"[cryptocurrency-wallet:value = '']", nil},
	} {
		got, err := intel.WalletAddresses(tc.pattern)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.pattern, got, err, tc.want)
		}
	}
	if _, err := intel.WalletAddresses("[cryptocurrency-wallet:value = 'a"); err == nil {
		t.Error("bad pattern accepted")
	}
}
