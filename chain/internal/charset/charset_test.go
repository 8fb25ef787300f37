package charset_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain/internal/charset"
)

func TestNotBase58(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := "1A" + string(rune(c))
		if c >= 0x80 {
			s = "1A" + string([]byte{byte(c)})
		}
		want := -1
		if strings.IndexByte(charset.Base58, byte(c)) < 0 {
			want = 2
		}
		if got := charset.NotBase58(s); got != want {
			t.Errorf("%q: %d, want %d", s, got, want)
		}
	}
}
