package btc

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain"
)

// Script classes of chain.Output.Script.
const (
	ClassP2PKH          = "p2pkh"
	ClassP2SH           = "p2sh"
	ClassP2WPKH         = "p2wpkh"
	ClassP2WSH          = "p2wsh"
	ClassP2TR           = "p2tr"
	ClassP2PK           = "p2pk"
	ClassMultisig       = "multisig"
	ClassNullData       = "nulldata"
	ClassNonStandard    = "nonstandard"
	ClassWitnessUnknown = "witness_unknown" // segwit v1+ programs other than taproot
	ClassAnchor         = "anchor"          // pay-to-anchor (BIP 433), OP_1 <0x4e73>
)

// HeaderSize is the serialized size of a block header.
const HeaderSize = 80

// DecodeBlock decodes a serialized block (the wire format of blk*.dat
// records and of getblock's raw hex), checks that its transactions hash to
// the header's merkle root and that the header's hash meets its own
// proof-of-work target, and converts it with FromWire. Those two checks
// catch a corrupted byte anywhere in the block.
func DecodeBlock(raw []byte, height uint64, params *chaincfg.Params) (*chain.Block, error) {
	pb, err := ParseBlock(raw)
	if err != nil {
		return nil, err
	}
	return pb.Block(height, params), nil
}

// ParsedBlock is a decoded, verified block with its hash and transaction
// ids, before it is converted: a reader of block files orders blocks by
// their parents before it knows their heights.
type ParsedBlock struct {
	Msg   *wire.MsgBlock
	Hash  chainhash.Hash
	txids []chainhash.Hash
}

// ParseBlock decodes raw and verifies it as DecodeBlock does. Hashing each
// transaction's bytes in place spares re-serializing those without
// witness data.
func ParseBlock(raw []byte) (*ParsedBlock, error) {
	var msg wire.MsgBlock
	locs, err := msg.DeserializeTxLoc(bytes.NewBuffer(raw))
	if err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	hash := chainhash.DoubleHashH(raw[:HeaderSize])
	if len(locs) == 0 {
		return nil, fmt.Errorf("block %s has no transactions", hash)
	}
	if last := locs[len(locs)-1]; last.TxStart+last.TxLen != len(raw) {
		return nil, fmt.Errorf("block %s: %d bytes of trailing data after its %d transactions",
			hash, len(raw)-last.TxStart-last.TxLen, len(locs))
	}
	if err := CheckProofOfWork(hash, msg.Header.Bits); err != nil {
		return nil, err
	}
	txids := make([]chainhash.Hash, len(msg.Transactions))
	for i, tx := range msg.Transactions {
		if tx.HasWitness() {
			txids[i] = tx.TxHash()
		} else {
			txids[i] = chainhash.DoubleHashH(raw[locs[i].TxStart : locs[i].TxStart+locs[i].TxLen])
		}
	}
	if root := merkleRoot(txids); root != msg.Header.MerkleRoot {
		return nil, fmt.Errorf("block %s: merkle root of its %d transactions is %s, header says %s",
			hash, len(txids), root, msg.Header.MerkleRoot)
	}
	return &ParsedBlock{Msg: &msg, Hash: hash, txids: txids}, nil
}

// CheckProofOfWork verifies that a header's hash does not exceed the
// target its compact bits encode.
func CheckProofOfWork(hash chainhash.Hash, bits uint32) error {
	target := compactToBig(bits)
	if target.Sign() <= 0 {
		return fmt.Errorf("block %s: invalid difficulty bits %08x", hash, bits)
	}
	// The hash is a little-endian number.
	var be [chainhash.HashSize]byte
	for i := range hash {
		be[i] = hash[chainhash.HashSize-1-i]
	}
	if new(big.Int).SetBytes(be[:]).Cmp(target) > 0 {
		return fmt.Errorf("block %s: hash above its proof-of-work target (bits %08x)", hash, bits)
	}
	return nil
}

// compactToBig expands the compact target representation of a header's
// Bits field: a base-256 exponent in the high byte and a signed 23-bit
// mantissa.
func compactToBig(compact uint32) *big.Int {
	mantissa := compact & 0x007fffff
	negative := compact&0x00800000 != 0
	exponent := uint(compact >> 24)
	var n *big.Int
	if exponent <= 3 {
		n = big.NewInt(int64(mantissa >> (8 * (3 - exponent))))
	} else {
		n = big.NewInt(int64(mantissa))
		n.Lsh(n, 8*(exponent-3))
	}
	if negative {
		n.Neg(n)
	}
	return n
}

// merkleRoot computes the merkle root of txids as Bitcoin does,
// duplicating the last hash of a level with an odd count.
func merkleRoot(txids []chainhash.Hash) chainhash.Hash {
	if len(txids) == 1 {
		return txids[0]
	}
	level := make([]chainhash.Hash, len(txids))
	copy(level, txids)
	var pair [2 * chainhash.HashSize]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 0; i < len(level); i += 2 {
			copy(pair[:chainhash.HashSize], level[i][:])
			copy(pair[chainhash.HashSize:], level[i+1][:])
			level[i/2] = chainhash.DoubleHashH(pair[:])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// FromWire converts a decoded block at the given height. Transactions keep
// their order; inputs carry only the output they spend, since their
// address and value live in the earlier transaction that created it: the
// ingest pipeline fills them in from its UTXO index and sets each
// transaction's Fee (inputs minus outputs) then. A coinbase has no inputs
// in the model.
func FromWire(b *wire.MsgBlock, height uint64, params *chaincfg.Params) *chain.Block {
	txids := make([]chainhash.Hash, len(b.Transactions))
	for i, tx := range b.Transactions {
		txids[i] = tx.TxHash()
	}
	return (&ParsedBlock{Msg: b, Hash: b.BlockHash(), txids: txids}).Block(height, params)
}

// Block converts the block at the given height, as FromWire does.
func (pb *ParsedBlock) Block(height uint64, params *chaincfg.Params) *chain.Block {
	b, txids := pb.Msg, pb.txids
	blk := &chain.Block{
		Chain:  chain.Bitcoin,
		Height: height,
		Hash:   pb.Hash.String(),
		Parent: b.Header.PrevBlock.String(),
		Time:   b.Header.Timestamp.UTC(),
		Txs:    make([]chain.Tx, len(b.Transactions)),
	}
	// One backing array each for the block's inputs and outputs instead of
	// two allocations per transaction.
	var nin, nout int
	for _, tx := range b.Transactions {
		nin += len(tx.TxIn)
		nout += len(tx.TxOut)
	}
	ins := make([]chain.Input, 0, nin)
	outs := make([]chain.Output, 0, nout)
	for i, tx := range b.Transactions {
		t := &blk.Txs[i]
		t.Hash = txids[i].String()
		t.Index = i
		if i == 0 && isCoinbase(tx) {
			t.Coinbase = true
		} else {
			start := len(ins)
			for _, in := range tx.TxIn {
				ins = append(ins, chain.Input{PrevTx: in.PreviousOutPoint.Hash.String(), PrevIndex: in.PreviousOutPoint.Index})
			}
			t.Inputs = ins[start:len(ins):len(ins)]
		}
		start := len(outs)
		for j, out := range tx.TxOut {
			addr, class := ScriptAddress(out.PkScript, params)
			outs = append(outs, chain.Output{Index: uint32(j), Address: addr, Value: uint64(out.Value), Script: class})
		}
		t.Outputs = outs[start:len(outs):len(outs)]
	}
	return blk
}

// isCoinbase reports whether tx has the single null-outpoint input of a
// coinbase.
func isCoinbase(tx *wire.MsgTx) bool {
	if len(tx.TxIn) != 1 {
		return false
	}
	prev := tx.TxIn[0].PreviousOutPoint
	return prev.Index == wire.MaxPrevOutIndex && prev.Hash == chainhash.Hash{}
}

// ScriptAddress returns the address an output script pays and the script's
// class. P2PKH, P2SH, P2WPKH, P2WSH and P2TR scripts give their address. A
// pay-to-pubkey script (early coinbases, block 170) gives the P2PKH address
// of HASH160 of the key as the script holds it, which is what Bitcoin Core
// and block explorers show and what a later P2PKH payment to the same key
// uses. Bare multisig, OP_RETURN data, segwit versions without rules yet
// and non-standard scripts give no address.
func ScriptAddress(pkScript []byte, params *chaincfg.Params) (addr, class string) {
	if key := payToPubKey(pkScript); key != nil {
		// The key's bytes are hashed as they are, not parsed, so that a key
		// off the curve stays attributable, as in Core.
		a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(key), params)
		if err != nil {
			return "", ClassP2PK
		}
		return a.EncodeAddress(), ClassP2PK
	}
	sc, addrs, _, err := txscript.ExtractPkScriptAddrs(pkScript, params)
	if err != nil {
		return "", ClassNonStandard
	}
	switch sc {
	case txscript.PubKeyHashTy:
		return encode(addrs), ClassP2PKH
	case txscript.ScriptHashTy:
		return encode(addrs), ClassP2SH
	case txscript.WitnessV0PubKeyHashTy:
		return encode(addrs), ClassP2WPKH
	case txscript.WitnessV0ScriptHashTy:
		return encode(addrs), ClassP2WSH
	case txscript.WitnessV1TaprootTy:
		return encode(addrs), ClassP2TR
	case txscript.MultiSigTy:
		return "", ClassMultisig
	case txscript.NullDataTy:
		return "", ClassNullData
	}
	return "", witnessClass(pkScript)
}

// payToPubKey returns the key of a pay-to-pubkey script, the templates
// txscript recognises: <33-byte compressed key> OP_CHECKSIG or <65-byte
// uncompressed or hybrid key> OP_CHECKSIG.
func payToPubKey(s []byte) []byte {
	switch {
	case len(s) == 35 && s[0] == txscript.OP_DATA_33 && s[34] == txscript.OP_CHECKSIG && (s[1] == 2 || s[1] == 3):
		return s[1:34]
	case len(s) == 67 && s[0] == txscript.OP_DATA_65 && s[66] == txscript.OP_CHECKSIG && (s[1] == 4 || s[1] == 6 || s[1] == 7):
		return s[1:66]
	}
	return nil
}

func encode(addrs []btcutil.Address) string {
	if len(addrs) == 0 {
		return ""
	}
	return addrs[0].EncodeAddress()
}

// witnessClass classifies segwit programs of versions btcd does not name.
// They get no address: the codecs accept none (BIP 350 reserves them for
// future rules), and an anchor is spendable by anyone.
func witnessClass(s []byte) string {
	// OP_1..OP_16 followed by one push of 2 to 40 bytes.
	if len(s) < 4 || len(s) > 42 || s[0] < txscript.OP_1 || s[0] > txscript.OP_16 || int(s[1]) != len(s)-2 {
		return ClassNonStandard
	}
	if s[0] == txscript.OP_1 && len(s) == 4 && s[2] == 0x4e && s[3] == 0x73 {
		return ClassAnchor
	}
	return ClassWitnessUnknown
}
