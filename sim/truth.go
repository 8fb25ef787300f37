package sim

import (
	"maps"
	"slices"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Role is what a laundering address does in the story.
type Role string

// Roles of laundering addresses.
const (
	RoleThief Role = "thief"
	// RoleSplit is one of the wallets the thief splits the theft over.
	RoleSplit Role = "split"
	// RolePeel is a hop of a peel chain; the last hop keeps what is left.
	RolePeel Role = "peel"
	// RoleMixerOut receives withdrawals from the mixer and forwards them
	// to an exchange.
	RoleMixerOut Role = "mixer-out"
	// RoleSwapOut receives the pool's tokens and deposits them at
	// exchanges.
	RoleSwapOut Role = "swap-out"
	// RoleDeposit is a deposit address (an account) of the thief's at an
	// exchange. It sweeps what it receives to the exchange's hot wallet.
	RoleDeposit Role = "deposit"
)

// CategoryDEX is the category of the DEX pool's tag: tags file DEXs under DeFi.
const CategoryDEX = tags.DeFi

// Truth is what happened to the stolen funds.
//
// Conservation: Deposited + Bridged + Swapped + MixerLeft + Remaining()
// equals Theft exactly. Deposited counts what the thief's deposit
// addresses received (they sweep all of it on to hot wallets before the
// scenario ends); Remaining sums the wei left at the other laundering
// addresses. Mixed - MixerLeft came back out of the mixer to RoleMixerOut
// addresses; the tokens the pool paid for Swapped (SwapTokens) were
// deposited at exchanges (Deposit.Tokens) or are still held
// (Account.TokenBalance).
type Truth struct {
	Victim     string       `json:"victim"`
	Thief      string       `json:"thief"`
	Theft      chain.Amount `json:"theft"`
	TheftTx    string       `json:"theft_tx"`
	TheftBlock uint64       `json:"theft_block"`
	// Splits are the thief's split wallets, in the order funded.
	Splits []string `json:"splits"`
	// Accounts holds every laundering address (the victim is not one).
	Accounts map[string]Account `json:"accounts"`
	// Deposits holds the thief's deposit addresses that received funds.
	Deposits map[string]Deposit `json:"deposits"`
	Services Services           `json:"services"`

	Deposited  chain.Amount `json:"deposited"`   // wei received at the thief's deposit addresses
	Bridged    chain.Amount `json:"bridged"`     // wei sent to the bridge
	Swapped    chain.Amount `json:"swapped"`     // wei sent into the DEX pool
	SwapTokens chain.Amount `json:"swap_tokens"` // token units the pool paid for them
	Mixed      chain.Amount `json:"mixed"`       // wei deposited in the mixer
	MixerLeft  chain.Amount `json:"mixer_left"`  // of which never withdrawn
}

// Account is one laundering address. Everything it receives is stolen.
type Account struct {
	Role Role `json:"role"`
	// Exchange names the exchange of a RoleDeposit address.
	Exchange string `json:"exchange,omitempty"`
	// Received and Balance are in wei: in all, and held at the end.
	Received chain.Amount `json:"received"`
	Balance  chain.Amount `json:"balance"`
	// TokensReceived and TokenBalance are in units of Services.Token.
	TokensReceived chain.Amount `json:"tokens_received"`
	TokenBalance   chain.Amount `json:"token_balance"`
}

// Deposit is the stolen value one of the thief's deposit addresses
// received. Poison and Haircut are equal: the address receives stolen
// funds only, so every input is wholly tainted under either rule. They are
// given apart so that a tracer's result under each can be compared to its
// own field.
type Deposit struct {
	Exchange string       `json:"exchange"`
	Poison   chain.Amount `json:"poison"`
	Haircut  chain.Amount `json:"haircut"`
	// ViaMixer is the part that came through the mixer: what a tracer that
	// stops at the mixer's tag cannot see.
	ViaMixer chain.Amount `json:"via_mixer"`
	// Tokens is the swap's proceeds received, in units of Services.Token.
	Tokens chain.Amount `json:"tokens"`
}

// Exchange is an exchange's addresses.
type Exchange struct {
	Hot string `json:"hot"`
	// Deposits lists every deposit address, the customers' and the
	// thief's, in lexical order so that position gives nothing away.
	Deposits []string `json:"deposits"`
}

// Services are the scenario's service addresses.
type Services struct {
	Exchanges map[string]Exchange `json:"exchanges"`
	Mixer     string              `json:"mixer"`
	// Relayer sends the mixer's withdrawal transactions.
	Relayer string `json:"relayer"`
	Bridge  string `json:"bridge"`
	Pool    string `json:"pool"`
	// Token is the pool's token; Tokens lists every token the background
	// moves, Token first.
	Token  chain.Asset   `json:"token"`
	Tokens []chain.Asset `json:"tokens"`
}

// Remaining sums the wei still held by laundering addresses other than
// the thief's deposit addresses.
func (t *Truth) Remaining() chain.Amount {
	var sum chain.Amount
	for _, a := range t.Accounts {
		if a.Role != RoleDeposit {
			sum = add(sum, a.Balance)
		}
	}
	return sum
}

// Tags returns the attributions an investigator would start from: the
// exchanges' hot wallets, the mixer, the bridge and the DEX pool. Deposit
// addresses are left out on purpose, for clustering to find.
func (t *Truth) Tags() []tags.Tag {
	tag := func(addr, entity, label string, c tags.Category) tags.Tag {
		return tags.Tag{
			Address: chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: addr},
			Entity:  entity, Label: label, Category: c, Source: "sim",
			Confidence: tags.Confidence("ownership"), ConfidenceLevel: "ownership",
		}
	}
	var out []tags.Tag
	for _, name := range slices.Sorted(maps.Keys(t.Services.Exchanges)) {
		out = append(out, tag(t.Services.Exchanges[name].Hot, name, name+": Hot Wallet", tags.Exchange))
	}
	s := t.Services
	return append(out,
		tag(s.Mixer, "mixer", "Mixer", tags.Mixer),
		tag(s.Bridge, "bridge", "Bridge", tags.Bridge),
		tag(s.Pool, "dex", "DEX Pool", CategoryDEX),
	)
}
