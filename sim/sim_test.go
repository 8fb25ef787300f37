package sim_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

func amount(t testing.TB, s string) chain.Amount {
	t.Helper()
	a, err := chain.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func add(a, b chain.Amount) chain.Amount { s, _ := a.Add(b); return s }

// small is a scenario that exercises every route in well under a second.
func small(t testing.TB, seed uint64) sim.Config {
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	cfg.Background = 30_000
	cfg.Addresses = 3_000
	cfg.TxsPerBlock = 60
	cfg.Exchanges = 3
	cfg.DepositAddresses = 100
	cfg.ThiefDeposits = 3
	cfg.Theft = amount(t, "60123456789012345678901") // 60,123.456... ETH
	cfg.SplitWallets = 6
	cfg.PeelHops = 5
	cfg.MixerKeep = 0.2
	cfg.Delay = 4
	cfg.MixDelay = 40
	cfg.SweepDelay = 6
	return cfg
}

func generate(t testing.TB, cfg sim.Config) (*sim.Scenario, []*chain.Block) {
	t.Helper()
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*chain.Block
	for {
		b, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != sc.Len() {
		t.Fatalf("%d blocks, Len says %d", len(blocks), sc.Len())
	}
	return sc, blocks
}

func isHex(s string, bytes int) bool {
	if len(s) != 2+2*bytes || s[:2] != "0x" {
		return false
	}
	for _, c := range s[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func TestChainShape(t *testing.T) {
	cfg := small(t, 1)
	sc, blocks := generate(t, cfg)
	txHashes := make(map[string]bool)
	type id struct {
		tx   string
		kind chain.TransferKind
		pos  uint32
	}
	ids := make(map[id]bool)
	var background, failed int
	for i, b := range blocks {
		if b.Chain != chain.Ethereum || b.Height != cfg.StartHeight+uint64(i) || !isHex(b.Hash, 32) {
			t.Fatalf("block %d: chain %q height %d hash %q", i, b.Chain, b.Height, b.Hash)
		}
		if i == 0 {
			if !b.Time.Equal(cfg.StartTime) || !isHex(b.Parent, 32) {
				t.Fatalf("first block: time %v parent %q", b.Time, b.Parent)
			}
		} else {
			prev := blocks[i-1]
			if b.Parent != prev.Hash || !b.Time.After(prev.Time) {
				t.Fatalf("block %d: parent %s after %s, time %v after %v", b.Height, b.Parent, prev.Hash, b.Time, prev.Time)
			}
		}
		for j, tx := range b.Txs {
			if tx.Index != j || !isHex(tx.Hash, 32) || txHashes[tx.Hash] || !isHex(tx.From, 20) || tx.Fee.IsZero() {
				t.Fatalf("block %d tx %d: %+v", b.Height, j, tx)
			}
			txHashes[tx.Hash] = true
			if tx.Failed {
				failed++
				if len(tx.Transfers) != 0 {
					t.Fatalf("failed tx %s moves value", tx.Hash)
				}
			}
			for _, tr := range tx.Transfers {
				if tr.Chain != chain.Ethereum || tr.Tx != tx.Hash || tr.Block != b.Height || !tr.Time.Equal(b.Time) ||
					!isHex(tr.From, 20) || !isHex(tr.To, 20) || tr.From == tr.To || tr.Amount.IsZero() {
					t.Fatalf("block %d: bad transfer %+v", b.Height, tr)
				}
				if (tr.Asset == chain.Native) == (tr.Kind == chain.KindToken) || tr.Kind == chain.KindOutput {
					t.Fatalf("asset %q with kind %v", tr.Asset, tr.Kind)
				}
				if tr.Asset != chain.Native && !isHex(string(tr.Asset), 20) {
					t.Fatalf("asset %q", tr.Asset)
				}
				k := id{tr.Tx, tr.Kind, tr.Pos}
				if ids[k] {
					t.Fatalf("transfer %+v repeats its (tx, kind, pos)", k)
				}
				ids[k] = true
				_, from := sc.Truth.Accounts[tr.From]
				_, to := sc.Truth.Accounts[tr.To]
				if !from && !to && tr.From != sc.Truth.Victim {
					background++
				}
			}
		}
	}
	if background != cfg.Background {
		t.Errorf("%d background transfers, want %d", background, cfg.Background)
	}
	if failed == 0 {
		t.Error("no failed transactions")
	}
	if last := blocks[len(blocks)-1].Height; sc.Truth.TheftBlock < cfg.StartHeight || sc.Truth.TheftBlock > last {
		t.Errorf("theft at %d outside [%d, %d]", sc.Truth.TheftBlock, cfg.StartHeight, last)
	}
}

// ledger replays the laundering from the blocks.
type ledger struct {
	bal, tok   map[string]chain.Amount // running balances
	recv, rtok map[string]chain.Amount // received in all
	// start is each address's ETH and token balance when the block began,
	// less what it has sent in the block: what it may still send, as no
	// address spends what it received in the same block.
	start      map[string][2]chain.Amount
	startBlock map[string]uint64
}

func TestConservation(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := small(t, seed)
		sc, blocks := generate(t, cfg)
		checkTruth(t, cfg, sc.Truth, blocks)
	}
}

func checkTruth(t *testing.T, cfg sim.Config, truth sim.Truth, blocks []*chain.Block) {
	t.Helper()
	s := truth.Services
	denoms := make(map[string]bool)
	for _, d := range cfg.MixerDenominations {
		denoms[d.String()] = true
	}
	hotOf := make(map[string]string) // deposit address -> hot wallet
	for _, ex := range s.Exchanges {
		for _, d := range ex.Deposits {
			hotOf[d] = ex.Hot
		}
	}
	l := ledger{
		bal: map[string]chain.Amount{}, tok: map[string]chain.Amount{},
		recv: map[string]chain.Amount{}, rtok: map[string]chain.Amount{},
		start: map[string][2]chain.Amount{}, startBlock: map[string]uint64{},
	}
	var bridged, swapped, swapTokens, mixed, unmixed, deposited chain.Amount
	poison := map[string]chain.Amount{}
	viaMixer := map[string]chain.Amount{}
	depTokens := map[string]chain.Amount{}
	var thefts int
	for _, b := range blocks {
		for _, tx := range b.Txs {
			for _, tr := range tx.Transfers {
				fromAcc, fromOK := truth.Accounts[tr.From]
				toAcc, toOK := truth.Accounts[tr.To]
				if hot, ok := hotOf[tr.From]; ok && tr.To != hot {
					t.Fatalf("deposit address %s pays %s, not its hot wallet", tr.From, tr.To)
				}
				if tr.From == truth.Victim {
					thefts++
					if tr.To != truth.Thief || tr.Amount.Cmp(truth.Theft) != 0 || tx.Hash != truth.TheftTx || b.Height != truth.TheftBlock {
						t.Fatalf("theft %+v", tr)
					}
				}
				if tr.To == truth.Victim {
					t.Fatalf("the victim receives %+v", tr)
				}
				if !fromOK && !toOK {
					continue
				}
				native := tr.Asset == chain.Native
				if !native && tr.Asset != s.Token {
					t.Fatalf("laundering moves token %s", tr.Asset)
				}
				// Where a laundering address's funds may come from.
				if toOK && !fromOK {
					switch {
					case tr.From == truth.Victim:
					case tr.From == s.Mixer && tr.Kind == chain.KindInternal && denoms[tr.Amount.String()] && toAcc.Role == sim.RoleMixerOut && tx.From == s.Relayer:
						unmixed = add(unmixed, tr.Amount)
					case tr.From == s.Pool && tr.Kind == chain.KindToken && toAcc.Role == sim.RoleSwapOut:
						if _, ok := truth.Accounts[tx.From]; !ok {
							t.Fatalf("swap by %s, not a laundering address", tx.From)
						}
						swapTokens = add(swapTokens, tr.Amount)
					default:
						t.Fatalf("laundering address %s (%s) receives from %s: %+v", tr.To, toAcc.Role, tr.From, tr)
					}
				}
				if fromOK {
					if tx.From != tr.From {
						t.Fatalf("%s's funds move in a transaction of %s", tr.From, tx.From)
					}
					l.spend(t, b.Height, tr)
					switch tr.To {
					case s.Bridge:
						bridged = add(bridged, tr.Amount)
					case s.Pool:
						swapped = add(swapped, tr.Amount)
					case s.Mixer:
						if !denoms[tr.Amount.String()] {
							t.Fatalf("mixer deposit of %s", tr.Amount)
						}
						mixed = add(mixed, tr.Amount)
					}
					if !toOK && fromAcc.Role != sim.RoleDeposit && tr.To != s.Bridge && tr.To != s.Pool && tr.To != s.Mixer {
						t.Fatalf("stolen funds leave to %s: %+v", tr.To, tr)
					}
					if fromAcc.Role == sim.RoleDeposit && tr.To != s.Exchanges[fromAcc.Exchange].Hot {
						t.Fatalf("the thief's deposit address %s pays %s", tr.From, tr.To)
					}
				}
				if toOK {
					l.receive(tr)
					if toAcc.Role == sim.RoleDeposit {
						if native {
							poison[tr.To] = add(poison[tr.To], tr.Amount)
							deposited = add(deposited, tr.Amount)
							if fromAcc.Role == sim.RoleMixerOut {
								viaMixer[tr.To] = add(viaMixer[tr.To], tr.Amount)
							}
						} else {
							depTokens[tr.To] = add(depTokens[tr.To], tr.Amount)
						}
					}
				}
			}
		}
	}
	if thefts != 1 {
		t.Fatalf("%d thefts", thefts)
	}

	// The stream agrees with the truth, address by address...
	var remaining, heldTokens, depositTokens chain.Amount
	for a, acc := range truth.Accounts {
		if l.bal[a].Cmp(acc.Balance) != 0 || l.recv[a].Cmp(acc.Received) != 0 ||
			l.tok[a].Cmp(acc.TokenBalance) != 0 || l.rtok[a].Cmp(acc.TokensReceived) != 0 {
			t.Errorf("%s (%s): stream received %s holds %s, tokens %s holds %s; truth %+v",
				a, acc.Role, l.recv[a], l.bal[a], l.rtok[a], l.tok[a], acc)
		}
		if acc.Role == sim.RoleDeposit {
			if !acc.Balance.IsZero() || !acc.TokenBalance.IsZero() {
				t.Errorf("deposit address %s never swept %s wei, %s tokens", a, acc.Balance, acc.TokenBalance)
			}
			d, ok := truth.Deposits[a]
			if !ok || d.Exchange != acc.Exchange || d.Poison.Cmp(poison[a]) != 0 || d.Haircut.Cmp(poison[a]) != 0 ||
				d.ViaMixer.Cmp(viaMixer[a]) != 0 || d.Tokens.Cmp(depTokens[a]) != 0 {
				t.Errorf("deposit %s: truth %+v, stream %s (via mixer %s), tokens %s", a, d, poison[a], viaMixer[a], depTokens[a])
			}
			depositTokens = add(depositTokens, acc.TokensReceived)
			continue
		}
		remaining = add(remaining, acc.Balance)
		heldTokens = add(heldTokens, acc.TokenBalance)
	}
	seen := make(map[string]bool)
	for a := range poison {
		seen[a] = true
	}
	for a := range depTokens {
		seen[a] = true
	}
	if len(truth.Deposits) != len(seen) {
		t.Errorf("%d deposit addresses in the truth, %d in the stream", len(truth.Deposits), len(seen))
	}
	// ... and in sum.
	for _, c := range []struct {
		name        string
		truth, seen chain.Amount
	}{
		{"bridged", truth.Bridged, bridged}, {"swapped", truth.Swapped, swapped}, {"swap tokens", truth.SwapTokens, swapTokens},
		{"mixed", truth.Mixed, mixed}, {"deposited", truth.Deposited, deposited}, {"remaining", truth.Remaining(), remaining},
	} {
		if c.truth.Cmp(c.seen) != 0 {
			t.Errorf("%s: truth %s, stream %s", c.name, c.truth, c.seen)
		}
	}
	if left, _ := mixed.Sub(unmixed); left.Cmp(truth.MixerLeft) != 0 {
		t.Errorf("mixer: %s in, %s out, truth leaves %s", mixed, unmixed, truth.MixerLeft)
	}
	end := add(add(add(add(deposited, bridged), swapped), truth.MixerLeft), remaining)
	if end.Cmp(truth.Theft) != 0 {
		t.Errorf("endpoints add up to %s, theft %s", end, truth.Theft)
	}
	if tk := add(depositTokens, heldTokens); tk.Cmp(truth.SwapTokens) != 0 {
		t.Errorf("tokens: %s deposited + %s held, swap paid %s", depositTokens, heldTokens, truth.SwapTokens)
	}
	// Every route ran.
	for name, v := range map[string]chain.Amount{"bridge": bridged, "swap": swapped, "mixer out": unmixed, "mixer left": truth.MixerLeft, "remaining": remaining} {
		if v.IsZero() {
			t.Errorf("nothing %s", name)
		}
	}
	roles := make(map[sim.Role]int)
	for _, acc := range truth.Accounts {
		roles[acc.Role]++
	}
	want := map[sim.Role]int{sim.RoleThief: 1, sim.RoleSplit: cfg.SplitWallets}
	for r, n := range want {
		if roles[r] != n {
			t.Errorf("%d %s addresses, want %d", roles[r], r, n)
		}
	}
	for _, r := range []sim.Role{sim.RolePeel, sim.RoleMixerOut, sim.RoleSwapOut, sim.RoleDeposit} {
		if roles[r] == 0 {
			t.Errorf("no %s address", r)
		}
	}
}

func (l *ledger) receive(tr chain.Transfer) {
	if tr.Asset == chain.Native {
		l.bal[tr.To] = add(l.bal[tr.To], tr.Amount)
		l.recv[tr.To] = add(l.recv[tr.To], tr.Amount)
	} else {
		l.tok[tr.To] = add(l.tok[tr.To], tr.Amount)
		l.rtok[tr.To] = add(l.rtok[tr.To], tr.Amount)
	}
}

func (l *ledger) spend(t *testing.T, height uint64, tr chain.Transfer) {
	t.Helper()
	i := 0
	bal := l.bal
	if tr.Asset != chain.Native {
		i, bal = 1, l.tok
	}
	if l.startBlock[tr.From] != height {
		l.startBlock[tr.From] = height
		l.start[tr.From] = [2]chain.Amount{l.bal[tr.From], l.tok[tr.From]}
	}
	avail := l.start[tr.From]
	left, under := avail[i].Sub(tr.Amount)
	if under {
		t.Fatalf("block %d: %s sends %s but held only %s before the block", height, tr.From, tr.Amount, avail[i])
	}
	avail[i] = left
	l.start[tr.From] = avail
	bal[tr.From], _ = bal[tr.From].Sub(tr.Amount)
}

func TestDeterminism(t *testing.T) {
	cfg := small(t, 7)
	a, ablocks := generate(t, cfg)
	b, bblocks := generate(t, cfg)
	if !reflect.DeepEqual(a.Truth, b.Truth) {
		t.Error("the same config gave different truths")
	}
	if !reflect.DeepEqual(ablocks, bblocks) {
		t.Error("the same config gave different blocks")
	}
	cfg.Seed++
	c, cblocks := generate(t, cfg)
	if c.Truth.Thief == a.Truth.Thief || c.Truth.TheftTx == a.Truth.TheftTx || cblocks[0].Hash == ablocks[0].Hash {
		t.Error("another seed gave the same addresses or hashes")
	}
}

// TestNamedVictimAndThief checks that a scenario told its victim's and
// thief's addresses is the same scenario with only those two renamed, and
// still a consistent one.
func TestNamedVictimAndThief(t *testing.T) {
	cfg := small(t, 5)
	base, want := generate(t, cfg)
	// Bybit's cold wallet and the exploiter's address, as published
	// (checksummed): the chain names them in lower case.
	cfg.Victim, cfg.Thief = "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4", "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"
	victim, thief := "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4", "0x47666fab8bd0ac7003bce3f5c3585383f09486e2"
	sc, got := generate(t, cfg)
	if sc.Truth.Victim != victim || sc.Truth.Thief != thief {
		t.Fatalf("truth names victim %s and thief %s", sc.Truth.Victim, sc.Truth.Thief)
	}
	if acc, ok := sc.Truth.Accounts[thief]; !ok || acc.Role != sim.RoleThief {
		t.Errorf("the thief's account: %+v, %v", acc, ok)
	}
	if _, ok := sc.Truth.Accounts[base.Truth.Thief]; ok {
		t.Errorf("the generated thief %s is still an account", base.Truth.Thief)
	}
	rename := map[string]string{base.Truth.Victim: victim, base.Truth.Thief: thief}
	renamed := func(a string) string {
		if r, ok := rename[a]; ok {
			return r
		}
		return a
	}
	for _, b := range want {
		for i := range b.Txs {
			tx := &b.Txs[i]
			tx.From = renamed(tx.From)
			for j := range tx.Transfers {
				tx.Transfers[j].From, tx.Transfers[j].To = renamed(tx.Transfers[j].From), renamed(tx.Transfers[j].To)
			}
		}
	}
	if !reflect.DeepEqual(want, got) {
		t.Error("naming the victim and the thief changed more than their addresses")
	}
	checkTruth(t, cfg, sc.Truth, got)

	for name, c := range map[string][2]string{
		"short":     {"0x1234", ""},
		"not hex":   {"", "0xg7666fab8bd0ac7003bce3f5c3585383f09486e2"},
		"no prefix": {"001db92e2eebc8e0c075a02bea49a2935bcd2dfcf4", ""},
		"the same":  {victim, "0x" + strings.ToUpper(victim[2:])},
	} {
		bad := small(t, 5)
		bad.Victim, bad.Thief = c[0], c[1]
		if _, err := sim.Generate(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestBybit checks the default, Bybit-sized split: 40 wallets of 10,000 ETH
// each, the thief keeping 1,346.7686 ETH.
func TestBybit(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Background = 0
	sc, blocks := generate(t, cfg)
	truth := sc.Truth
	if len(truth.Splits) != 40 {
		t.Fatalf("%d split wallets", len(truth.Splits))
	}
	tenK := amount(t, "10000000000000000000000")
	for _, w := range truth.Splits {
		if acc := truth.Accounts[w]; acc.Role != sim.RoleSplit || acc.Received.Cmp(tenK) != 0 {
			t.Errorf("split wallet %s: %+v", w, acc)
		}
	}
	if got := truth.Accounts[truth.Thief].Balance; got.Cmp(amount(t, "1346768600000000000000")) != 0 {
		t.Errorf("the thief keeps %s", got)
	}
	checkTruth(t, cfg, truth, blocks)
}

func TestTags(t *testing.T) {
	cfg := small(t, 1)
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := sc.Truth.Services
	want := map[string]tags.Category{s.Mixer: tags.Mixer, s.Bridge: tags.Bridge, s.Pool: sim.CategoryDEX}
	for name, ex := range s.Exchanges {
		want[ex.Hot] = tags.Exchange
		if len(ex.Deposits) != cfg.DepositAddresses+cfg.ThiefDeposits || !slices.IsSorted(ex.Deposits) {
			t.Errorf("%s: %d deposit addresses", name, len(ex.Deposits))
		}
	}
	if len(s.Exchanges) != cfg.Exchanges {
		t.Errorf("%d exchanges", len(s.Exchanges))
	}
	got := sc.Truth.Tags()
	if len(got) != len(want) {
		t.Fatalf("%d tags, want %d", len(got), len(want))
	}
	for _, tag := range got {
		if want[tag.Address.Value] != tag.Category || tag.Address.Chain != chain.Ethereum || tag.Entity == "" {
			t.Errorf("tag %+v", tag)
		}
		if _, ok := sc.Truth.Deposits[tag.Address.Value]; ok {
			t.Errorf("deposit address %s tagged", tag.Address.Value)
		}
	}
	for d, dep := range sc.Truth.Deposits {
		if !slices.Contains(s.Exchanges[dep.Exchange].Deposits, d) {
			t.Errorf("deposit %s not listed at %s", d, dep.Exchange)
		}
	}
}

// TestBackground checks the background's shape: a few addresses take most
// of the traffic, amounts spread over orders of magnitude, and customers'
// deposit addresses sweep to their exchange's hot wallet.
func TestBackground(t *testing.T) {
	cfg := small(t, 3)
	sc, blocks := generate(t, cfg)
	hotOf := make(map[string]string)
	for _, ex := range sc.Truth.Services.Exchanges {
		for _, d := range ex.Deposits {
			hotOf[d] = ex.Hot
		}
	}
	degree := make(map[string]int)
	var eth []chain.Amount
	var total, sweeps int
	kinds := make(map[chain.TransferKind]int)
	for _, b := range blocks {
		for _, tx := range b.Txs {
			for _, tr := range tx.Transfers {
				if _, ok := sc.Truth.Accounts[tr.From]; ok {
					continue
				}
				if _, ok := sc.Truth.Accounts[tr.To]; ok {
					continue
				}
				total++
				degree[tr.From]++
				degree[tr.To]++
				kinds[tr.Kind]++
				if hotOf[tr.From] != "" {
					sweeps++
				}
				if tr.Kind == chain.KindNative {
					eth = append(eth, tr.Amount)
				}
			}
		}
	}
	if sweeps == 0 || kinds[chain.KindNative] == 0 || kinds[chain.KindInternal] == 0 || kinds[chain.KindToken] == 0 {
		t.Errorf("kinds %v, %d sweeps", kinds, sweeps)
	}
	var ds []int
	for _, d := range degree {
		ds = append(ds, d)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ds)))
	top := 0
	for _, d := range ds[:len(ds)/100] {
		top += d
	}
	if share := float64(top) / float64(2*total); share < 0.3 {
		t.Errorf("the top 1%% of addresses take %.0f%% of the transfers' ends", 100*share)
	}
	slices.SortFunc(eth, chain.Amount.Cmp)
	median, p99 := eth[len(eth)/2], eth[len(eth)*99/100]
	lo, hi := amount(t, "1000000000000000"), amount(t, "1000000000000000000") // 0.001 and 1 ETH
	if median.Cmp(lo) < 0 || median.Cmp(hi) > 0 || p99.Cmp(median.MulDiv(chain.NewAmount(50), chain.NewAmount(1))) < 0 {
		t.Errorf("ETH payments: median %s, 99th percentile %s", median, p99)
	}
}

// TestIngest stores a scenario with the real ingest pipeline and store and
// reads the thief's deposits back.
func TestIngest(t *testing.T) {
	ctx := context.Background()
	cfg := small(t, 5)
	cfg.Background = 5_000
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var src ingest.StreamSource = sc.Source()
	st, err := ingest.RunStream(ctx, db.Graph(), src, ingest.Options{From: cfg.StartHeight, Batch: 50})
	if err != nil || st.Blocks != sc.Len() {
		t.Fatalf("ingested %+v: %v", st, err)
	}
	for a, d := range sc.Truth.Deposits {
		tot, ok, err := db.Graph().AddressTotals(ctx, chain.Ethereum, a)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", a, ok, err)
		}
		for _, at := range tot.Assets {
			want := d.Poison
			if at.Asset != chain.Native {
				want = d.Tokens
			}
			if at.Received.Cmp(want) != 0 || at.Sent.Cmp(want) != 0 {
				t.Errorf("%s %q: received %s sent %s, want %s", a, at.Asset, at.Received, at.Sent, want)
			}
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	for name, change := range map[string]func(*sim.Config){
		"no wallets":     func(c *sim.Config) { c.SplitWallets = 0 },
		"tiny theft":     func(c *sim.Config) { c.Theft = chain.NewAmount(3) },
		"no routes":      func(c *sim.Config) { c.Routes = sim.Routes{} },
		"zero note":      func(c *sim.Config) { c.MixerDenominations = []chain.Amount{{}} },
		"flat zipf":      func(c *sim.Config) { c.Zipf = 1 },
		"no block time":  func(c *sim.Config) { c.BlockTime = 0 },
		"no thief accts": func(c *sim.Config) { c.ThiefDeposits = 0 },
	} {
		cfg := small(t, 1)
		change(&cfg)
		if _, err := sim.Generate(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := sim.DefaultConfig()
	cfg.Background = 200_000
	cfg.Addresses = 50_000
	transfers := 0
	for b.Loop() {
		sc, err := sim.Generate(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for {
			blk, err := sc.Next()
			if err == io.EOF {
				break
			}
			for i := range blk.Txs {
				transfers += len(blk.Txs[i].Transfers)
			}
		}
	}
	b.ReportMetric(float64(transfers)/b.Elapsed().Seconds(), "transfers/s")
}
