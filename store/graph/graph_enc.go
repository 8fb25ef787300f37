package graph

// hexDigit maps a lowercase hex digit to its value and any other byte to
// 0xff, so that a run of digits is decoded and checked at once.
var hexDigit = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

// appendAddrW is appendAddr for the write path, which encodes ten
// addresses a transfer: the common "0x" and 40 lowercase hex digits are
// decoded and checked in one pass instead of two.
func appendAddrW(b []byte, s string) []byte {
	if a, ok := hexAddr(s); ok {
		return appendHex20(b, &a)
	}
	return appendAddr(b, s)
}

// hexAddr decodes s if it is "0x" and 40 lowercase hex digits, the
// addresses stored as their 20 bytes.
func hexAddr(s string) (a [20]byte, ok bool) {
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' {
		return a, false
	}
	return a, decodeHexLower(a[:], s[2:])
}

// appendHex20 appends the encoding of an address hexAddr decoded.
func appendHex20(b []byte, a *[20]byte) []byte {
	return append(append(b, addrHex20), a[:]...)
}

// hexMemo remembers the last few Ethereum-style addresses decoded, and,
// in sums, their totals. Each address of a transfer is encoded five
// times, in the transaction's record and in both sides' postings, and
// its totals are looked up twice: decoding its 40 hex digits each time
// was a tenth of a bulk load's encoding work, and the lookups, which
// compare the address with a key in memory long unread, a fifth.
type hexMemo struct {
	s    [4]string
	b    [4][20]byte
	t    [4]*totals // the address's totals in the sums owning the memo
	next int
}

// find returns the slot of address s, decoded if it was not remembered,
// or -1 if s is not "0x" and 40 lowercase hex digits.
func (m *hexMemo) find(s string) int {
	if len(s) != 42 {
		return -1
	}
	for i := range m.s {
		if m.s[i] == s {
			return i
		}
	}
	b, ok := hexAddr(s)
	if !ok {
		return -1
	}
	i := m.next
	m.next = (i + 1) % len(m.s)
	m.s[i], m.b[i], m.t[i] = s, b, nil
	return i
}

// appendAddr is appendAddrW, remembering the decoded addresses; a nil
// memo remembers none.
func (m *hexMemo) appendAddr(b []byte, s string) []byte {
	if m == nil {
		return appendAddrW(b, s)
	}
	i := m.find(s)
	if i < 0 {
		return appendAddrW(b, s)
	}
	return appendHex20(b, &m.b[i])
}

// decodeHexLower decodes len(out) bytes from the lowercase hex digits
// of s, checking them all at once; false if one is not such a digit.
func decodeHexLower(out []byte, s string) bool {
	var bad byte
	for i := range out {
		hi, lo := hexDigit[s[2*i]], hexDigit[s[2*i+1]]
		bad |= hi | lo
		out[i] = hi<<4 | lo
	}
	return bad&0xf0 == 0
}
