package cases

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/image/font/gofont/goregular"
)

func TestCoverage(t *testing.T) {
	c, err := newCoverage(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"Bybit ÄÖü Привет": "Bybit ÄÖü Привет",
		"資金 a":             "<U+8CC7><U+91D1> a",
		"a\x00b\nc\td\x1b": "a b\nc\td ",
	} {
		if got := c.clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFileName checks that an attachment's name is always one plain
// element: no separator, no control character, no quote, bounded.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"statement.pdf", "../../etc/passwd", "C:\\x\\y.txt", "a\"b;c\r\nd", "", ".", "..", "/", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := fileName(name)
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\\"\x00;") || len(got) > maxShort+4 || !utf8.ValidString(got) {
			t.Fatalf("fileName(%q) = %q", name, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("fileName(%q) = %q holds %U", name, got, r)
			}
		}
		if fileName(got) != got {
			t.Fatalf("fileName is not idempotent on %q: %q", got, fileName(got))
		}
	})
}
