// Package charset checks strings against the alphabets the codecs share,
// with a table rather than a search per character.
package charset

// Base58 is Bitcoin's base58 alphabet.
const Base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58 = func() (t [256]bool) {
	for i := 0; i < len(Base58); i++ {
		t[Base58[i]] = true
	}
	return t
}()

// NotBase58 returns the index of the first character of s outside
// Bitcoin's base58 alphabet, or -1.
func NotBase58(s string) int {
	for i := 0; i < len(s); i++ {
		if !base58[s[i]] {
			return i
		}
	}
	return -1
}
