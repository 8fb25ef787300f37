package tron

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/btcutil/base58"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracehound/tracehound/chain"
)

// addrVersion is the first byte of every Tron address.
const addrVersion = 0x41

// transferTopic is the TRC-20 (ERC-20) Transfer event's topic,
// keccak256("Transfer(address,address,uint256)").
const transferTopic = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

// Contract types (java-tron's Transaction.Contract.ContractType) whose
// value moves between addresses, and the protobuf messages they carry.
const (
	transferContract      = 1
	transferAssetContract = 2
	createSmartContract   = 30
	triggerSmartContract  = 31
)

var contractNames = map[uint64]string{
	transferContract:      "TransferContract",
	transferAssetContract: "TransferAssetContract",
	createSmartContract:   "CreateSmartContract",
	triggerSmartContract:  "TriggerSmartContract",
}

// rawBlock is a block as the node gave it, checked: its id names its
// height, its parent the height below, and each transaction's id is the
// SHA-256 of its raw bytes.
type rawBlock struct {
	height       uint64
	id, parent   string
	time         time.Time
	Transactions []rawTx
}

type rawTx struct {
	id  string
	raw []byte // Transaction.raw, the bytes the id hashes
	ret string // contractRet, "" if not given
}

// The JSON read of a block: only the fields used.
type jsonBlock struct {
	BlockID string `json:"blockID"`
	Header  struct {
		Raw struct {
			Number     uint64 `json:"number"`
			ParentHash string `json:"parentHash"`
			Timestamp  int64  `json:"timestamp"`
		} `json:"raw_data"`
	} `json:"block_header"`
	Transactions []struct {
		TxID       string `json:"txID"`
		RawDataHex string `json:"raw_data_hex"`
		Ret        []struct {
			ContractRet string `json:"contractRet"`
		} `json:"ret"`
	} `json:"transactions"`
}

// decodeBlock reads and checks one block of getblockbynum's or
// getblockbylimitnext's answer.
func decodeBlock(body []byte) (*rawBlock, error) {
	var jb jsonBlock
	if err := json.Unmarshal(body, &jb); err != nil {
		return nil, fmt.Errorf("malformed block: %w", err)
	}
	return checkBlock(&jb)
}

// checkBlock checks a decoded block and keeps what is used of it.
func checkBlock(jb *jsonBlock) (*rawBlock, error) {
	h, err := idHeight(jb.BlockID)
	if err != nil {
		return nil, err
	}
	raw := &jb.Header.Raw
	// Protobuf's JSON leaves out zero fields: the genesis block has
	// neither number nor timestamp.
	switch {
	case raw.Number != h:
		return nil, fmt.Errorf("block id %s is of block %d, the header says %d", jb.BlockID, h, raw.Number)
	case !isHash(raw.ParentHash):
		return nil, fmt.Errorf("block %d: parentHash %q: want 64 lower-case hex digits", h, raw.ParentHash)
	case raw.Timestamp < 0 || raw.Timestamp > 1<<52 || h > 0 && raw.Timestamp == 0:
		return nil, fmt.Errorf("block %d: timestamp %d out of range", h, raw.Timestamp)
	}
	if p, _ := idHeight(raw.ParentHash); h > 0 && p != h-1 {
		return nil, fmt.Errorf("block %d: parent %s is block %d", h, raw.ParentHash, p)
	}
	b := &rawBlock{height: h, id: jb.BlockID, parent: raw.ParentHash, time: time.UnixMilli(raw.Timestamp).UTC()}
	b.Transactions = make([]rawTx, len(jb.Transactions))
	for i := range jb.Transactions {
		jt := &jb.Transactions[i]
		t := &b.Transactions[i]
		if !isHash(jt.TxID) {
			return nil, fmt.Errorf("block %d: transaction %d: txID %q: want 64 lower-case hex digits", h, i, jt.TxID)
		}
		t.id = jt.TxID
		if t.raw, err = hex.DecodeString(jt.RawDataHex); err != nil || len(t.raw) == 0 {
			return nil, fmt.Errorf("block %d: transaction %d (%s): raw_data_hex is not hex", h, i, t.id)
		}
		sum := sha256.Sum256(t.raw)
		if hex.EncodeToString(sum[:]) != t.id {
			return nil, fmt.Errorf("block %d: transaction %d: txID %s is not the SHA-256 of its raw_data_hex (%x): a corrupt block", h, i, t.id, sum)
		}
		if len(jt.Ret) > 0 {
			t.ret = jt.Ret[0].ContractRet
		}
	}
	return b, nil
}

// txInfo is one entry of gettransactioninfobyblocknum's answer: only the
// fields used.
type txInfo struct {
	ID              string `json:"id"`
	Fee             int64  `json:"fee"`
	BlockNumber     uint64 `json:"blockNumber"`
	ContractAddress string `json:"contract_address"`
	Result          string `json:"result"` // "FAILED", or absent
	Receipt         struct {
		EnergyFee int64  `json:"energy_fee"`
		NetFee    int64  `json:"net_fee"`
		Result    string `json:"result"` // SUCCESS, REVERT, OUT_OF_ENERGY ...; absent outside the VM
	} `json:"receipt"`
	Log []struct {
		Address string   `json:"address"`
		Topics  []string `json:"topics"`
		Data    string   `json:"data"`
	} `json:"log"`
	Internal []struct {
		Caller    string `json:"caller_address"`
		To        string `json:"transferTo_address"`
		CallValue []struct {
			CallValue int64  `json:"callValue"`
			TokenID   string `json:"tokenId"`
		} `json:"callValueInfo"`
		Rejected bool `json:"rejected"`
	} `json:"internal_transactions"`
}

// mapBlock turns a checked block and its transaction infos (the body of
// gettransactioninfobyblocknum; nil for a block without transactions)
// into the chain model.
func mapBlock(rb *rawBlock, infoBody []byte) (*chain.Block, error) {
	blk := &chain.Block{Chain: chain.Tron, Height: rb.height, Hash: rb.id, Parent: rb.parent, Time: rb.time}
	if len(rb.Transactions) == 0 {
		return blk, nil
	}
	var infos []txInfo
	if !isEmptyObject(infoBody) {
		if err := json.Unmarshal(infoBody, &infos); err != nil {
			return nil, fmt.Errorf("malformed transaction infos: %w", err)
		}
	}
	if len(infos) != len(rb.Transactions) {
		return nil, &inconsistentError{fmt.Sprintf("block %d: %d transaction infos for %d transactions", rb.height, len(infos), len(rb.Transactions))}
	}
	blk.Txs = make([]chain.Tx, len(rb.Transactions))
	for i := range rb.Transactions {
		t, info := &rb.Transactions[i], &infos[i]
		if info.ID != t.id || info.BlockNumber != rb.height {
			return nil, &inconsistentError{fmt.Sprintf("block %d: transaction info %d is of transaction %s in block %d, the block has %s there", rb.height, i, info.ID, info.BlockNumber, t.id)}
		}
		tx, err := mapTx(blk, i, t, info)
		if err != nil {
			return nil, fmt.Errorf("transaction %d (%s): %w", i, t.id, err)
		}
		blk.Txs[i] = tx
	}
	return blk, nil
}

// contract is the one contract of a transaction, decoded.
type contract struct {
	typ   uint64
	owner string
	// Value paid to `to` (TRX in sun) and tokens (TRC-10 id and amount).
	to                string
	value, tokenValue uint64
	token             string
}

func mapTx(blk *chain.Block, i int, t *rawTx, info *txInfo) (chain.Tx, error) {
	c, err := decodeContract(t.raw)
	if err != nil {
		return chain.Tx{}, err
	}
	if info.Fee < 0 || info.Receipt.EnergyFee < 0 || info.Receipt.NetFee < 0 {
		return chain.Tx{}, fmt.Errorf("negative fee (fee %d, energy_fee %d, net_fee %d)", info.Fee, info.Receipt.EnergyFee, info.Receipt.NetFee)
	}
	// fee is all the TRX burnt; protobuf's JSON leaves it out when 0.
	fee := uint64(info.Fee)
	if fee == 0 {
		fee = uint64(info.Receipt.EnergyFee) + uint64(info.Receipt.NetFee)
	}
	failed := info.Result == "FAILED" ||
		info.Receipt.Result != "" && info.Receipt.Result != "SUCCESS" ||
		t.ret != "" && t.ret != "SUCCESS"
	tx := chain.Tx{Hash: t.id, Index: i, From: c.owner, Fee: chain.NewAmount(fee), Failed: failed}
	if failed {
		return tx, nil
	}
	add := func(kind chain.TransferKind, pos uint32, from, to string, asset chain.Asset, amount chain.Amount) {
		tx.Transfers = append(tx.Transfers, chain.Transfer{
			Chain: chain.Tron, Tx: t.id, Kind: kind, Pos: pos, Block: blk.Height, Time: blk.Time,
			From: from, To: to, Asset: asset, Amount: amount,
		})
	}
	if c.typ == createSmartContract && (c.value > 0 || c.tokenValue > 0) {
		// The new contract's address is known only once it ran.
		if c.to, err = hexAddr(info.ContractAddress); err != nil {
			return tx, fmt.Errorf("contract_address of a contract creation paying %d sun: %w", c.value, err)
		}
	}
	if c.value > 0 {
		add(chain.KindNative, 0, c.owner, c.to, chain.Native, chain.NewAmount(c.value))
	}
	if c.tokenValue > 0 {
		// A call paying TRX and a TRC-10 token at once: the token is the
		// second top-level transfer.
		pos := uint32(0)
		if c.value > 0 {
			pos = 1
		}
		add(chain.KindNative, pos, c.owner, c.to, chain.Asset(c.token), chain.NewAmount(c.tokenValue))
	}
	pos := uint32(0)
	for j := range info.Internal {
		it := &info.Internal[j]
		if it.Rejected {
			continue
		}
		for _, v := range it.CallValue {
			if v.CallValue < 0 {
				return tx, fmt.Errorf("internal transaction %d: negative callValue %d", j, v.CallValue)
			}
			if v.CallValue == 0 {
				continue
			}
			from, err := hexAddr(it.Caller)
			if err != nil {
				return tx, fmt.Errorf("internal transaction %d: caller_address: %w", j, err)
			}
			to, err := hexAddr(it.To)
			if err != nil {
				return tx, fmt.Errorf("internal transaction %d: transferTo_address: %w", j, err)
			}
			asset := chain.Native
			if v.TokenID != "" && v.TokenID != "_" {
				if !isTokenID(v.TokenID) {
					return tx, fmt.Errorf("internal transaction %d: tokenId %q is not a TRC-10 id", j, v.TokenID)
				}
				asset = chain.Asset(v.TokenID)
			}
			pos++
			add(chain.KindInternal, pos, from, to, asset, chain.NewAmount(uint64(v.CallValue)))
		}
	}
	for j := range info.Log {
		l := &info.Log[j]
		if len(l.Topics) != 3 || l.Topics[0] != transferTopic {
			continue
		}
		data, err := hex.DecodeString(l.Data)
		if err != nil {
			return tx, fmt.Errorf("log %d: data is not hex", j)
		}
		from, ok1 := topicAddr(l.Topics[1])
		to, ok2 := topicAddr(l.Topics[2])
		// TRC-721 indexes its token id as a fourth topic; only the
		// TRC-20 shape carries an amount.
		if len(data) != 32 || !ok1 || !ok2 {
			continue
		}
		token, err := logAddr(l.Address)
		if err != nil {
			return tx, fmt.Errorf("log %d: %w", j, err)
		}
		amount, err := chain.AmountFromBytes(data)
		if err != nil {
			return tx, fmt.Errorf("log %d: %w", j, err)
		}
		add(chain.KindToken, uint32(j), from, to, chain.Asset(token), amount)
	}
	return tx, nil
}

// decodeContract reads the one contract of a transaction's raw bytes
// (Transaction.raw: contract is field 11; Contract: type 1, parameter 2,
// an Any whose value, field 2, is the contract's message).
func decodeContract(raw []byte) (contract, error) {
	var (
		c     contract
		found int
		param []byte
	)
	err := fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		if num != 11 {
			return nil
		}
		if typ != protowire.BytesType {
			return errors.New("contract is not a message")
		}
		found++
		return fields(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
			switch {
			case num == 1 && typ == protowire.VarintType:
				c.typ = v
			case num == 2 && typ == protowire.BytesType:
				return fields(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
					switch {
					case num == 1 && typ == protowire.BytesType:
						if name, ok := contractNames[c.typ]; ok && !bytes.HasSuffix(b, []byte("protocol."+name)) {
							return fmt.Errorf("contract type %d (%s) with parameter type %q", c.typ, name, b)
						}
					case num == 2 && typ == protowire.BytesType:
						param = b
					}
					return nil
				})
			}
			return nil
		})
	})
	switch {
	case err != nil:
		return c, fmt.Errorf("raw_data: %w", err)
	case found != 1:
		// java-tron accepts exactly one contract a transaction.
		return c, fmt.Errorf("raw_data: %d contracts, want 1", found)
	}
	var owner, to, name, inner []byte
	var amount, tokenValue, tokenID uint64
	err = fields(param, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch c.typ {
		case transferContract:
			switch num {
			case 1:
				owner = b
			case 2:
				to = b
			case 3:
				amount = v
			}
		case transferAssetContract:
			switch num {
			case 1:
				name = b
			case 2:
				owner = b
			case 3:
				to = b
			case 4:
				amount = v
			}
		case triggerSmartContract:
			switch num {
			case 1:
				owner = b
			case 2:
				to = b
			case 3:
				amount = v
			case 5:
				tokenValue = v
			case 6:
				tokenID = v
			}
		case createSmartContract:
			switch num {
			case 1:
				owner = b
			case 2:
				inner = b
			case 3:
				tokenValue = v
			case 4:
				tokenID = v
			}
		default:
			// Every other contract names its owner in field 1.
			if num == 1 && typ == protowire.BytesType {
				owner = b
			}
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("%s: %w", contractName(c.typ), err)
	}
	if inner != nil {
		// SmartContract: call_value is field 5.
		err = fields(inner, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
			if num == 5 && typ == protowire.VarintType {
				amount = v
			}
			return nil
		})
		if err != nil {
			return c, fmt.Errorf("%s: new_contract: %w", contractName(c.typ), err)
		}
	}
	if int64(amount) < 0 || int64(tokenValue) < 0 || int64(tokenID) < 0 {
		return c, fmt.Errorf("%s: negative amount", contractName(c.typ))
	}
	if owner != nil {
		if c.owner, err = addr21(owner); err != nil {
			return c, fmt.Errorf("%s: owner_address: %w", contractName(c.typ), err)
		}
	}
	switch c.typ {
	case transferContract, transferAssetContract, triggerSmartContract:
		if c.owner == "" {
			return c, fmt.Errorf("%s without owner_address", contractName(c.typ))
		}
		if c.to, err = addr21(to); err != nil {
			return c, fmt.Errorf("%s: to_address: %w", contractName(c.typ), err)
		}
	case createSmartContract:
		if c.owner == "" {
			return c, fmt.Errorf("%s without owner_address", contractName(c.typ))
		}
	}
	c.value = amount
	switch c.typ {
	case transferAssetContract:
		// The token id since allowSameTokenName; the token's name in the
		// transactions before it.
		if len(name) == 0 {
			return c, fmt.Errorf("%s without asset_name", contractName(c.typ))
		}
		c.value, c.tokenValue, c.token = 0, amount, string(name)
	case triggerSmartContract, createSmartContract:
		c.tokenValue = tokenValue
		if tokenValue > 0 {
			c.token = strconv.FormatUint(tokenID, 10)
		}
	}
	return c, nil
}

func contractName(typ uint64) string {
	if n, ok := contractNames[typ]; ok {
		return n
	}
	return "contract type " + strconv.FormatUint(typ, 10)
}

// fields calls fn for each field of a protobuf message: v for varints,
// b for length-delimited fields. Fixed-width fields are skipped; a
// malformed message is an error.
func fields(msg []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("malformed protobuf: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		var (
			v uint64
			b []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(msg)
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return fmt.Errorf("malformed protobuf field %d: %w", num, protowire.ParseError(n))
		}
		msg = msg[n:]
		if err := fn(num, typ, v, b); err != nil {
			return err
		}
	}
	return nil
}

// addr21 is the base58check form of a 21-byte Tron address.
func addr21(b []byte) (string, error) {
	if len(b) != 21 || b[0] != addrVersion {
		return "", fmt.Errorf("%x is not a Tron address (21 bytes starting with 41)", b)
	}
	return base58.CheckEncode(b[1:], addrVersion), nil
}

// hexAddr reads an address as the HTTP API writes it: 42 hex digits
// starting with 41.
func hexAddr(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("%q is not hex", s)
	}
	return addr21(b)
}

// logAddr reads a log's address: the EVM's 20 bytes, without the 41 that
// Tron addresses start with (a node may give it with the 41).
func logAddr(s string) (string, error) {
	if len(s) == 40 {
		s = "41" + s
	}
	return hexAddr(s)
}

// topicAddr reads an address from an indexed event word: 12 zero bytes
// and the address's 20 bytes.
func topicAddr(w string) (string, bool) {
	b, err := hex.DecodeString(w)
	if err != nil || len(b) != 32 {
		return "", false
	}
	for _, x := range b[:12] {
		if x != 0 {
			return "", false
		}
	}
	b[11] = addrVersion
	a, err := addr21(b[11:])
	return a, err == nil
}

// isHash reports whether s is 64 lower-case hex digits, as Tron writes
// block and transaction ids.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isTokenID reports whether s is a TRC-10 token id: a decimal number.
func isTokenID(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
