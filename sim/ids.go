package sim

import (
	"encoding/binary"
	"encoding/hex"
)

// golden is 2^64 divided by the golden ratio, SplitMix64's increment.
const golden = 0x9e3779b97f4a7c15

// mix is SplitMix64's finaliser. It is a bijection on 64 bits, so distinct
// keys give distinct identifiers, and it scrambles well enough that the
// identifiers look random without any randomness of their own.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Address kinds: the low byte of an address's key, so that every family
// of addresses has its own space of indexes.
const (
	addrPool uint64 = iota + 1
	addrContract
	addrHot
	addrDeposit
	addrLaunder
	addrService
	addrToken
)

// Services' indexes within addrService.
const (
	svcVictim = iota
	svcMixer
	svcRelayer
	svcBridge
	svcBridgeRelayer
	svcPool
)

// Hash kinds.
const (
	hashBlock uint64 = iota + 1
	hashLaunderTx
	hashBackgroundTx
)

// namer derives addresses and hashes from the seed. The first 8 bytes of
// each are a bijection of (kind, index), so no two collide as long as an
// index stays below 2^56.
type namer struct{ addrKey, hashKey uint64 }

func newNamer(seed uint64) namer {
	return namer{addrKey: mix(seed ^ 0x61646472), hashKey: mix(seed ^ 0x68617368)}
}

// address returns a lower-case "0x" address of 20 bytes.
func (n namer) address(kind, i uint64) string {
	var raw [24]byte
	h := mix(n.addrKey ^ (i<<8 | kind))
	binary.BigEndian.PutUint64(raw[0:], h)
	h = mix(h + golden)
	binary.BigEndian.PutUint64(raw[8:], h)
	binary.BigEndian.PutUint64(raw[16:], mix(h+golden))
	var s [2 + 40]byte
	s[0], s[1] = '0', 'x'
	hex.Encode(s[2:], raw[:20])
	return string(s[:])
}

// hash returns a lower-case "0x" hash of 32 bytes.
func (n namer) hash(kind, i uint64) string {
	var raw [32]byte
	h := mix(n.hashKey ^ (i<<8 | kind))
	for j := 0; j < 32; j += 8 {
		binary.BigEndian.PutUint64(raw[j:], h)
		h = mix(h + golden)
	}
	var s [2 + 64]byte
	s[0], s[1] = '0', 'x'
	hex.Encode(s[2:], raw[:])
	return string(s[:])
}
