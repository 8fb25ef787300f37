package cases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
)

// Store persists cases. Save writes a case, its audit entry in the case's
// timeline, and a blob if any, atomically.
type Store interface {
	SaveCase(ctx context.Context, w Write) error
	// Case returns the case with that id; false if there is none.
	Case(ctx context.Context, id string) (Case, bool, error)
	// Cases returns every case.
	Cases(ctx context.Context) ([]Case, error)
	// CaseBlob returns a blob saved with a case.
	CaseBlob(ctx context.Context, caseID string, kind BlobKind, name string) ([]byte, bool, error)
	// CaseTimeline returns the audit entries saved with a case, in order.
	CaseTimeline(ctx context.Context, caseID string) ([]audit.Entry, error)
}

// Write is one atomic change.
type Write struct {
	CaseID string
	// Case is the new state of the case; nil records Event alone (a
	// refused access, an export).
	Case  *Case
	Event audit.Entry
	Blob  *Blob
}

// Blob is content kept with a case outside its record: a trace result or
// an attachment.
type Blob struct {
	Kind BlobKind
	Name string
	Data []byte
}

// BlobKind says what a blob is.
type BlobKind string

// Blob kinds.
const (
	BlobTraceResult BlobKind = "trace"
	BlobAttachment  BlobKind = "file"
)

// Publisher posts STIX objects to one of the node's TAXII collections.
type Publisher interface {
	PublishObjects(ctx context.Context, collection string, objs []intel.Object) error
}

// AddressParser validates and canonicalises addresses (chain.Parser).
type AddressParser interface {
	Parse(s string, hint chain.Chain) (chain.Address, error)
}

// Config sets up a Service.
type Config struct {
	Store Store
	Audit *audit.Log
	// Parser checks the addresses given to cases; nil keeps them as
	// written.
	Parser AddressParser
	// Publisher and Creator publish cases to partners; without them
	// Publish answers ErrNoPublisher. Creator is the node's identity at
	// the time of publication (an error if it has none).
	Publisher Publisher
	Creator   func(context.Context) (*intel.Identity, error)
	// MaxAttachment is the largest attachment in bytes (default 16 MiB);
	// MaxTraceResult the largest trace result saved (default 64 MiB).
	MaxAttachment  int
	MaxTraceResult int
	Now            func() time.Time
}

// Default limits.
const (
	DefaultMaxAttachment  = 16 << 20
	DefaultMaxTraceResult = 64 << 20
)

// ErrNoPublisher means the node publishes nothing.
var ErrNoPublisher = errors.New("this node has no TAXII publisher")

// Service keeps cases. Every change is audited under the actor's name,
// and the entry joins the case's timeline.
type Service struct {
	cfg Config
	// mu serialises changes: a change reads the case, checks its version
	// and writes it back.
	mu sync.Mutex
}

// NewService returns a service over cfg.Store.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Audit == nil {
		return nil, errors.New("cases: a store and an audit log are required")
	}
	if cfg.MaxAttachment <= 0 {
		cfg.MaxAttachment = DefaultMaxAttachment
	}
	if cfg.MaxTraceResult <= 0 {
		cfg.MaxTraceResult = DefaultMaxTraceResult
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// MaxAttachment is the largest attachment accepted, in bytes.
func (s *Service) MaxAttachment() int { return s.cfg.MaxAttachment }

// MaxTraceResult is the largest trace result accepted, in bytes.
func (s *Service) MaxTraceResult() int { return s.cfg.MaxTraceResult }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// Summary is a case as lists show it.
type Summary struct {
	ID        string    `json:"id"`
	Reference string    `json:"reference"`
	Title     string    `json:"title"`
	TLP       intel.TLP `json:"tlp"`
	Status    string    `json:"status"`
	Creator   string    `json:"creator"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Addresses int       `json:"addresses"`
	Freezes   int       `json:"freezes"`
	// Frozen counts the freeze requests whose funds are frozen.
	Frozen int `json:"frozen"`
}

// List returns the cases a may see, most recently changed first; with
// an address, only the cases that name it (as an address of interest, a
// seed, a freeze request or a linked alert).
func (s *Service) List(ctx context.Context, a Actor, address string) ([]Summary, error) {
	all, err := s.cfg.Store.Cases(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out := []Summary{}
	for i := range all {
		c := &all[i]
		if !c.Visible(a) || (address != "" && !c.names(address)) {
			continue
		}
		sm := Summary{ID: c.ID, Reference: c.Reference, Title: c.Title, TLP: c.TLP, Status: c.Status, Creator: c.Creator,
			Created: c.Created, Updated: c.Updated, Addresses: len(c.Addresses), Freezes: len(c.Freezes)}
		for _, f := range c.Freezes {
			if f.Status == FreezeFrozen {
				sm.Frozen++
			}
		}
		out = append(out, sm)
	}
	slices.SortStableFunc(out, func(x, y Summary) int { return y.Updated.Compare(x.Updated) })
	return out, nil
}

// names reports whether the case names address anywhere. Hex addresses
// compare without case, since EIP-55 only mixes it for a checksum.
func (c *Case) names(address string) bool {
	same := func(x string) bool {
		return x == address || strings.HasPrefix(address, "0x") && strings.EqualFold(x, address)
	}
	for _, x := range c.Addresses {
		if same(x.Address) {
			return true
		}
	}
	for _, x := range c.Freezes {
		if same(x.Address) {
			return true
		}
	}
	for _, x := range c.Alerts {
		if same(x.Address) {
			return true
		}
	}
	for _, x := range c.Seeds {
		// A seed may carry :OUTPUT, =AMOUNT or @TIME after the address.
		parts := strings.FieldsFunc(x.Seed, func(r rune) bool { return r == ':' || r == '=' || r == '@' })
		if same(x.Seed) || len(parts) > 0 && same(parts[0]) {
			return true
		}
	}
	return false
}

// NewCase opens a case.
type NewCase struct {
	Reference string      `json:"reference"`
	Title     string      `json:"title"`
	Summary   string      `json:"summary,omitempty"`
	TLP       intel.TLP   `json:"tlp,omitzero"`
	Keys      []string    `json:"keys,omitempty"`
	Seeds     []SeedIn    `json:"seeds,omitempty"`
	Addresses []AddressIn `json:"addresses,omitempty"`
}

// SeedIn is a seed to add.
type SeedIn struct {
	Chain string `json:"chain"`
	Seed  string `json:"seed"`
	Note  string `json:"note,omitempty"`
}

// AddressIn is an address of interest to add, or to change (the same
// chain and address again replaces its role, note and share flag).
type AddressIn struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	Role    string `json:"role,omitempty"`
	Note    string `json:"note,omitempty"`
	Share   bool   `json:"share,omitempty"`
}

// Create opens a case with a as its creator. The TLP defaults to AMBER
// and may not exceed a's clearance.
func (s *Service) Create(ctx context.Context, a Actor, n NewCase) (Case, error) {
	if a.Name == "" {
		return Case{}, errors.New("create case: no actor")
	}
	ref, err := reference(n.Reference)
	if err != nil {
		return Case{}, err
	}
	title, err := text("title", n.Title, maxTitle, true)
	if err != nil {
		return Case{}, err
	}
	summary, err := text("summary", n.Summary, maxText, false)
	if err != nil {
		return Case{}, err
	}
	if n.TLP == 0 {
		n.TLP = intel.TLPAmber
	}
	if !n.TLP.Valid() {
		return Case{}, inputf("tlp: not a TLP level")
	}
	if !a.Admin && n.TLP > a.Clearance {
		return Case{}, inputf("tlp: %s is above this key's clearance (%s)", n.TLP, a.Clearance)
	}
	keys, err := keyNames(n.Keys, a.Name)
	if err != nil {
		return Case{}, err
	}
	now := s.now()
	id, err := newID()
	if err != nil {
		return Case{}, err
	}
	c := Case{ID: id, Reference: ref, Title: title, Summary: summary, TLP: n.TLP, Status: StatusOpen, Creator: a.Name, Keys: keys,
		Created: now, Updated: now, Version: 1}
	c.fill()
	for _, in := range n.Seeds {
		if err := s.addSeed(&c, in, a.Name, now); err != nil {
			return Case{}, err
		}
	}
	for _, in := range n.Addresses {
		if err := s.addAddress(&c, in, a.Name, now); err != nil {
			return Case{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.cfg.Store.Cases(ctx)
	if err != nil {
		return Case{}, fmt.Errorf("create case: %w", err)
	}
	for _, o := range all {
		if strings.EqualFold(o.Reference, ref) {
			// Only those who may see the other case learn which it is.
			if o.Visible(a) {
				return Case{}, fmt.Errorf("%w: case %s already has the reference %s", ErrConflict, o.ID, o.Reference)
			}
			return Case{}, fmt.Errorf("%w: the reference %s is in use", ErrConflict, ref)
		}
	}
	detail := map[string]string{"reference": ref, "tlp": c.TLP.String(), "title": title}
	if len(keys) > 0 {
		detail["keys"] = strings.Join(keys, ",")
	}
	if err := s.save(ctx, a, "case.create", &c, detail, nil); err != nil {
		return Case{}, err
	}
	return c, nil
}

// Get returns the case with id if a may see it.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Case, error) {
	return s.read(ctx, a, id)
}

// read loads a case for a, auditing a refusal.
func (s *Service) read(ctx context.Context, a Actor, id string) (Case, error) {
	c, ok, err := s.cfg.Store.Case(ctx, id)
	if err != nil {
		return Case{}, fmt.Errorf("read case %s: %w", id, err)
	}
	if !ok {
		return Case{}, ErrNotFound
	}
	if !c.Visible(a) {
		reason := "not allowed on the case"
		if a.Clearance < c.TLP && (a.Name == c.Creator || slices.Contains(c.Keys, a.Name)) {
			reason = "clearance " + a.Clearance.String() + " below " + c.TLP.String()
		}
		e, err := s.cfg.Audit.Record(ctx, actorName(a), "case.denied", "case/"+c.ID, map[string]string{"reason": reason})
		if err != nil {
			return Case{}, fmt.Errorf("audit refusal: %w", err)
		}
		if err := s.cfg.Store.SaveCase(ctx, Write{CaseID: c.ID, Event: e}); err != nil {
			return Case{}, fmt.Errorf("record refusal: %w", err)
		}
		return Case{}, ErrNotFound
	}
	c.fill()
	return c, nil
}

func actorName(a Actor) string {
	if a.Name == "" {
		return "unknown"
	}
	return a.Name
}

// change applies fn to case id for a and saves it with an audit entry
// for action; fn returns the entry's detail and a blob to save, if any.
// version, if positive, must be the case's current version.
func (s *Service) change(ctx context.Context, a Actor, id string, version int, action string, fn func(c *Case, now time.Time) (map[string]string, *Blob, error)) (Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.read(ctx, a, id)
	if err != nil {
		return Case{}, err
	}
	if version > 0 && version != c.Version {
		return Case{}, fmt.Errorf("%w: case %s is at version %d, not %d: reload it and try again", ErrConflict, c.Reference, c.Version, version)
	}
	now := s.now()
	detail, blob, err := fn(&c, now)
	if err != nil {
		return Case{}, err
	}
	c.Version++
	c.Updated = now
	if err := s.save(ctx, a, action, &c, detail, blob); err != nil {
		return Case{}, err
	}
	return c, nil
}

// save audits action on c and writes c with the entry.
func (s *Service) save(ctx context.Context, a Actor, action string, c *Case, detail map[string]string, blob *Blob) error {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["version"] = strconv.Itoa(c.Version)
	e, err := s.cfg.Audit.Record(ctx, actorName(a), action, "case/"+c.ID, detail)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if err := s.cfg.Store.SaveCase(ctx, Write{CaseID: c.ID, Case: c, Event: e, Blob: blob}); err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

// Update changes a case's description, marking, keys or status. Only
// the fields given change; Version must be the case's current version.
type Update struct {
	Version int        `json:"version"`
	Title   *string    `json:"title,omitempty"`
	Summary *string    `json:"summary,omitempty"`
	TLP     *intel.TLP `json:"tlp,omitempty"`
	Keys    *[]string  `json:"keys,omitempty"`
	Status  *string    `json:"status,omitempty"`
}

// Update applies u. Changing who may see the case (keys, TLP) is for its
// creator and administrators.
func (s *Service) Update(ctx context.Context, a Actor, id string, u Update) (Case, error) {
	if u.Version <= 0 {
		return Case{}, inputf("version: give the version of the case the change is based on")
	}
	return s.change(ctx, a, id, u.Version, "case.update", func(c *Case, _ time.Time) (map[string]string, *Blob, error) {
		d := map[string]string{}
		if u.Title != nil {
			t, err := text("title", *u.Title, maxTitle, true)
			if err != nil {
				return nil, nil, err
			}
			c.Title, d["title"] = t, t
		}
		if u.Summary != nil {
			t, err := text("summary", *u.Summary, maxText, false)
			if err != nil {
				return nil, nil, err
			}
			c.Summary, d["summary"] = t, strconv.Itoa(len(t))+" bytes"
		}
		owner := a.Admin || a.Name == c.Creator
		if u.TLP != nil {
			if !owner {
				return nil, nil, inputf("only the case's creator or an administrator changes its TLP")
			}
			if !u.TLP.Valid() || (!a.Admin && *u.TLP > a.Clearance) {
				return nil, nil, inputf("tlp: %v is not a level this key is cleared for", *u.TLP)
			}
			c.TLP, d["tlp"] = *u.TLP, u.TLP.String()
		}
		if u.Keys != nil {
			if !owner {
				return nil, nil, inputf("only the case's creator or an administrator changes who may see it")
			}
			keys, err := keyNames(*u.Keys, c.Creator)
			if err != nil {
				return nil, nil, err
			}
			c.Keys, d["keys"] = keys, strings.Join(keys, ",")
		}
		if u.Status != nil {
			st := strings.ToLower(strings.TrimSpace(*u.Status))
			if st != StatusOpen && st != StatusClosed {
				return nil, nil, inputf("status %q: want open or closed", *u.Status)
			}
			c.Status, d["status"] = st, st
		}
		if len(d) == 0 {
			return nil, nil, inputf("nothing to change")
		}
		return d, nil, nil
	})
}

// AddNote adds a note.
func (s *Service) AddNote(ctx context.Context, a Actor, id, note string) (Case, error) {
	t, err := text("note", note, maxText, true)
	if err != nil {
		return Case{}, err
	}
	return s.change(ctx, a, id, 0, "case.note", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		if len(c.Notes) >= maxItems {
			return nil, nil, inputf("the case has %d notes; at most %d", len(c.Notes), maxItems)
		}
		n := Note{ID: "n" + strconv.Itoa(len(c.Notes)+1), Text: t, By: a.Name, Time: now}
		c.Notes = append(c.Notes, n)
		return map[string]string{"note": n.ID, "bytes": strconv.Itoa(len(t))}, nil, nil
	})
}

// AddAddress adds an address of interest, or replaces the role, note
// and share flag of one already on the case.
func (s *Service) AddAddress(ctx context.Context, a Actor, id string, in AddressIn) (Case, error) {
	return s.change(ctx, a, id, 0, "case.address", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		if err := s.addAddress(c, in, a.Name, now); err != nil {
			return nil, nil, err
		}
		// addAddress puts the added or changed address last.
		ad := c.Addresses[len(c.Addresses)-1]
		return map[string]string{"chain": string(ad.Chain), "address": ad.Address, "role": ad.Role, "share": strconv.FormatBool(ad.Share)}, nil, nil
	})
}

func (s *Service) addAddress(c *Case, in AddressIn, by string, now time.Time) error {
	ad, err := s.address(in.Chain, in.Address)
	if err != nil {
		return err
	}
	role, err := validRole(in.Role)
	if err != nil {
		return err
	}
	note, err := text("note", in.Note, maxText, false)
	if err != nil {
		return err
	}
	if role == "victim" && in.Share {
		return inputf("a victim's address is never shared with partners")
	}
	na := Address{Chain: ad.Chain, Address: ad.Value, Role: role, Note: note, Share: in.Share, Added: now, By: by}
	for i := range c.Addresses {
		if c.Addresses[i].Chain == na.Chain && c.Addresses[i].Address == na.Address {
			na.Added = c.Addresses[i].Added
			// The entry moves to the end: the newest change last.
			c.Addresses = append(slices.Delete(c.Addresses, i, i+1), na)
			return nil
		}
	}
	if len(c.Addresses) >= maxItems {
		return inputf("the case has %d addresses; at most %d", len(c.Addresses), maxItems)
	}
	c.Addresses = append(c.Addresses, na)
	return nil
}

// address parses an address of interest on the named chain.
func (s *Service) address(chainName, raw string) (chain.Address, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return chain.Address{}, inputf("address is required")
	}
	if len(raw) > maxShort || !utf8.ValidString(raw) || strings.ContainsAny(raw, " \t\r\n'\\\"<>") {
		return chain.Address{}, inputf("address %.60q is not an address", raw)
	}
	hint := chain.ParseChain(chainName)
	if s.cfg.Parser == nil {
		if hint == "" {
			return chain.Address{}, inputf("chain is required")
		}
		return chain.Opaque(hint, raw), nil
	}
	ad, err := s.cfg.Parser.Parse(raw, hint)
	if err != nil {
		return chain.Address{}, &InputError{Msg: "address " + raw + ": " + err.Error()}
	}
	return ad, nil
}

// AddSeed adds a seed.
func (s *Service) AddSeed(ctx context.Context, a Actor, id string, in SeedIn) (Case, error) {
	return s.change(ctx, a, id, 0, "case.seed", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		if err := s.addSeed(c, in, a.Name, now); err != nil {
			return nil, nil, err
		}
		sd := c.Seeds[len(c.Seeds)-1]
		return map[string]string{"chain": string(sd.Chain), "seed": sd.Seed}, nil, nil
	})
}

func (s *Service) addSeed(c *Case, in SeedIn, by string, now time.Time) error {
	ch := chain.ParseChain(in.Chain)
	if ch == "" {
		return inputf("seed: chain is required")
	}
	seed, err := text("seed", in.Seed, 300, true)
	if err != nil {
		return err
	}
	if strings.ContainsAny(seed, " \t\r\n") {
		return inputf("seed %.60q: one address or transaction, without spaces", seed)
	}
	note, err := text("note", in.Note, maxText, false)
	if err != nil {
		return err
	}
	for _, x := range c.Seeds {
		if x.Chain == ch && x.Seed == seed {
			return inputf("seed %s is on the case already", seed)
		}
	}
	if len(c.Seeds) >= maxItems {
		return inputf("the case has %d seeds; at most %d", len(c.Seeds), maxItems)
	}
	c.Seeds = append(c.Seeds, Seed{Chain: ch, Seed: seed, Note: note, Added: now, By: by})
	return nil
}

// LinkAlert ties an alert to the case.
func (s *Service) LinkAlert(ctx context.Context, a Actor, id string, l AlertLink) (Case, error) {
	alertID, err := text("alert id", l.ID, maxShort, true)
	if err != nil {
		return Case{}, err
	}
	watch, err := text("watch", l.Watch, maxShort, false)
	if err != nil {
		return Case{}, err
	}
	addr, err := text("address", l.Address, maxShort, false)
	if err != nil {
		return Case{}, err
	}
	return s.change(ctx, a, id, 0, "case.alert", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		for _, x := range c.Alerts {
			if x.ID == alertID {
				return nil, nil, inputf("alert %s is linked already", alertID)
			}
		}
		if len(c.Alerts) >= maxItems {
			return nil, nil, inputf("the case has %d alerts; at most %d", len(c.Alerts), maxItems)
		}
		c.Alerts = append(c.Alerts, AlertLink{ID: alertID, Watch: watch, Chain: chain.ParseChain(string(l.Chain)), Address: addr, Added: now, By: a.Name})
		return map[string]string{"alert": alertID, "watch": watch}, nil, nil
	})
}

// LinkWatch ties a watch to the case by name.
func (s *Service) LinkWatch(ctx context.Context, a Actor, id, watch string) (Case, error) {
	name, err := text("watch", watch, maxShort, true)
	if err != nil {
		return Case{}, err
	}
	return s.change(ctx, a, id, 0, "case.watch", func(c *Case, _ time.Time) (map[string]string, *Blob, error) {
		if slices.Contains(c.Watches, name) {
			return nil, nil, inputf("watch %s is linked already", name)
		}
		if len(c.Watches) >= maxItems {
			return nil, nil, inputf("the case has %d watches; at most %d", len(c.Watches), maxItems)
		}
		c.Watches = append(c.Watches, name)
		return map[string]string{"watch": name}, nil, nil
	})
}

// SaveTrace saves a trace result as a new version of the case's trace
// traceID, or of a new trace named name when traceID is empty. request
// is the trace request that gave result, kept so that the trace can be
// run again.
func (s *Service) SaveTrace(ctx context.Context, a Actor, id, traceID, name string, request, result []byte) (Case, TraceVersion, error) {
	if len(result) > s.cfg.MaxTraceResult {
		return Case{}, TraceVersion{}, inputf("trace result is %d bytes; at most %d", len(result), s.cfg.MaxTraceResult)
	}
	if len(request) == 0 || !json.Valid(request) || len(request) > 1<<20 {
		return Case{}, TraceVersion{}, inputf("trace request: want the request's JSON (at most 1 MiB)")
	}
	sum, err := summarise(result)
	if err != nil {
		return Case{}, TraceVersion{}, err
	}
	name, err = text("trace name", name, maxShort, false)
	if err != nil {
		return Case{}, TraceVersion{}, err
	}
	var v TraceVersion
	c, err := s.change(ctx, a, id, 0, "case.trace", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		i := slices.IndexFunc(c.Traces, func(t Trace) bool { return t.ID == traceID })
		if traceID == "" {
			if len(c.Traces) >= 1000 {
				return nil, nil, inputf("the case has %d traces; at most 1000", len(c.Traces))
			}
			if name == "" {
				name = "trace " + strconv.Itoa(len(c.Traces)+1)
			}
			c.Traces = append(c.Traces, Trace{ID: "t" + strconv.Itoa(len(c.Traces)+1), Name: name})
			i = len(c.Traces) - 1
		} else if i < 0 {
			return nil, nil, inputf("the case has no trace %s", traceID)
		}
		t := &c.Traces[i]
		if len(t.Versions) >= 1000 {
			return nil, nil, inputf("trace %s has %d versions; at most 1000", t.ID, len(t.Versions))
		}
		digest := sha256.Sum256(result)
		v = TraceVersion{Version: len(t.Versions) + 1, Request: append([]byte(nil), request...), Created: now, By: a.Name,
			Size: len(result), SHA256: hex.EncodeToString(digest[:]), Summary: sum}
		t.Versions = append(t.Versions, v)
		blob := &Blob{Kind: BlobTraceResult, Name: traceBlob(t.ID, v.Version), Data: result}
		return map[string]string{"trace": t.ID, "name": t.Name, "trace_version": strconv.Itoa(v.Version), "sha256": v.SHA256,
			"endpoints": strconv.Itoa(sum.Endpoints), "tainted": sum.Tainted.String()}, blob, nil
	})
	return c, v, err
}

func traceBlob(traceID string, version int) string { return traceID + "/" + strconv.Itoa(version) }

// summarise reads what a trace result says in a line, checking that it
// is a trace result at all.
func summarise(result []byte) (TraceSummary, error) {
	var r struct {
		Chain     string          `json:"chain"`
		Asset     string          `json:"asset"`
		Tainted   chain.Amount    `json:"tainted"`
		Nodes     []struct{}      `json:"nodes"`
		Edges     []struct{}      `json:"edges"`
		Endpoints []struct{}      `json:"endpoints"`
		Through   uint64          `json:"through_block"`
		Hops      json.RawMessage `json:"hops"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return TraceSummary{}, inputf("trace result: %v", err)
	}
	if r.Nodes == nil || r.Hops == nil {
		return TraceSummary{}, inputf("trace result: no nodes or hops: not a trace result")
	}
	return TraceSummary{Chain: r.Chain, Asset: r.Asset, Tainted: r.Tainted, Nodes: len(r.Nodes), Edges: len(r.Edges),
		Endpoints: len(r.Endpoints), Through: r.Through}, nil
}

// TraceResult returns a saved result of a case's trace.
func (s *Service) TraceResult(ctx context.Context, a Actor, id, traceID string, version int) (TraceVersion, []byte, error) {
	c, err := s.read(ctx, a, id)
	if err != nil {
		return TraceVersion{}, nil, err
	}
	i := slices.IndexFunc(c.Traces, func(t Trace) bool { return t.ID == traceID })
	if i < 0 {
		return TraceVersion{}, nil, fmt.Errorf("%w: case %s has no trace %s", ErrNotFound, c.Reference, traceID)
	}
	t := c.Traces[i]
	if version == 0 {
		version = len(t.Versions)
	}
	if version < 1 || version > len(t.Versions) {
		return TraceVersion{}, nil, fmt.Errorf("%w: trace %s has no version %d", ErrNotFound, traceID, version)
	}
	b, ok, err := s.cfg.Store.CaseBlob(ctx, c.ID, BlobTraceResult, traceBlob(traceID, version))
	if err != nil {
		return TraceVersion{}, nil, fmt.Errorf("read trace result: %w", err)
	}
	if !ok {
		return TraceVersion{}, nil, fmt.Errorf("case %s: trace %s version %d has no stored result", c.ID, traceID, version)
	}
	return t.Versions[version-1], b, nil
}

// Attach keeps a file with the case. Its content type is sniffed from
// its first bytes (http.DetectContentType); the name is reduced to a
// plain file name.
func (s *Service) Attach(ctx context.Context, a Actor, id, name string, data []byte) (Case, Attachment, error) {
	if len(data) == 0 {
		return Case{}, Attachment{}, inputf("attachment is empty")
	}
	if len(data) > s.cfg.MaxAttachment {
		return Case{}, Attachment{}, inputf("attachment is %d bytes; at most %d", len(data), s.cfg.MaxAttachment)
	}
	name = fileName(name)
	var at Attachment
	c, err := s.change(ctx, a, id, 0, "case.attach", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		if len(c.Attachments) >= 1000 {
			return nil, nil, inputf("the case has %d attachments; at most 1000", len(c.Attachments))
		}
		digest := sha256.Sum256(data)
		at = Attachment{ID: "a" + strconv.Itoa(len(c.Attachments)+1), Name: name, ContentType: http.DetectContentType(data),
			Size: len(data), SHA256: hex.EncodeToString(digest[:]), Added: now, By: a.Name}
		c.Attachments = append(c.Attachments, at)
		return map[string]string{"attachment": at.ID, "name": at.Name, "sha256": at.SHA256, "size": strconv.Itoa(at.Size)},
			&Blob{Kind: BlobAttachment, Name: at.ID, Data: data}, nil
	})
	return c, at, err
}

// fileName keeps the last element of a name, in printable characters,
// so that it cannot name a path or break a header.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(strings.TrimSpace(name), "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '"' || r == ';' || r == utf8.RuneError {
			r = '_'
		}
		b.WriteRune(r)
		if b.Len() >= maxShort {
			break
		}
	}
	n := strings.TrimSpace(b.String())
	if n == "" || n == "." || n == "/" || n == ".." {
		n = "attachment"
	}
	return n
}

// Attachment returns an attachment and its content.
func (s *Service) Attachment(ctx context.Context, a Actor, id, attID string) (Attachment, []byte, error) {
	c, err := s.read(ctx, a, id)
	if err != nil {
		return Attachment{}, nil, err
	}
	i := slices.IndexFunc(c.Attachments, func(x Attachment) bool { return x.ID == attID })
	if i < 0 {
		return Attachment{}, nil, fmt.Errorf("%w: case %s has no attachment %s", ErrNotFound, c.Reference, attID)
	}
	b, ok, err := s.cfg.Store.CaseBlob(ctx, c.ID, BlobAttachment, attID)
	if err != nil {
		return Attachment{}, nil, fmt.Errorf("read attachment: %w", err)
	}
	if !ok {
		return Attachment{}, nil, fmt.Errorf("case %s: attachment %s has no stored content", c.ID, attID)
	}
	return c.Attachments[i], b, nil
}

// DraftFreeze drafts a freeze request.
func (s *Service) DraftFreeze(ctx context.Context, a Actor, id string, d FreezeDraft) (Case, Freeze, error) {
	svc, err := text("service", d.Service, maxShort, true)
	if err != nil {
		return Case{}, Freeze{}, err
	}
	ad, err := s.address(d.Chain, d.Address)
	if err != nil {
		return Case{}, Freeze{}, err
	}
	note, err := text("note", d.Note, maxText, false)
	if err != nil {
		return Case{}, Freeze{}, err
	}
	asset, err := text("asset", string(d.Asset), maxShort, false)
	if err != nil {
		return Case{}, Freeze{}, err
	}
	if d.Requested.IsZero() {
		return Case{}, Freeze{}, inputf("requested: give the amount to freeze, in base units")
	}
	var f Freeze
	c, err := s.change(ctx, a, id, 0, "case.freeze.draft", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		if len(c.Freezes) >= maxItems {
			return nil, nil, inputf("the case has %d freeze requests; at most %d", len(c.Freezes), maxItems)
		}
		f = Freeze{ID: "f" + strconv.Itoa(len(c.Freezes)+1), Service: svc, Chain: ad.Chain, Address: ad.Value, Asset: chain.Asset(asset),
			Requested: d.Requested, Status: FreezeDrafted, Note: note, Created: now, Updated: now, By: a.Name,
			History: []FreezeEvent{{Status: FreezeDrafted, Amount: d.Requested, Time: now, By: a.Name}}}
		c.Freezes = append(c.Freezes, f)
		return map[string]string{"freeze": f.ID, "service": svc, "address": ad.Value, "asset": asset, "requested": d.Requested.String()}, nil, nil
	})
	return c, f, err
}

// MoveFreeze moves a freeze request to its next status.
func (s *Service) MoveFreeze(ctx context.Context, a Actor, id, freezeID string, m FreezeMove) (Case, Freeze, error) {
	var f Freeze
	c, err := s.change(ctx, a, id, 0, "case.freeze."+strings.ToLower(strings.TrimSpace(m.Status)), func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		i := slices.IndexFunc(c.Freezes, func(x Freeze) bool { return x.ID == freezeID })
		if i < 0 {
			return nil, nil, fmt.Errorf("%w: case %s has no freeze request %s", ErrNotFound, c.Reference, freezeID)
		}
		from := c.Freezes[i].Status
		if err := c.Freezes[i].move(m, a.Name, now); err != nil {
			return nil, nil, err
		}
		f = c.Freezes[i]
		last := f.History[len(f.History)-1]
		return map[string]string{"freeze": f.ID, "from": from, "to": f.Status, "amount": last.Amount.String(), "reference": f.Reference}, nil, nil
	})
	return c, f, err
}

// Timeline returns the audit entries about the case, oldest first.
func (s *Service) Timeline(ctx context.Context, a Actor, id string) ([]audit.Entry, error) {
	c, err := s.read(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.CaseTimeline(ctx, c.ID)
}

// Export returns the case and its timeline for a report in format,
// auditing the export: a report leaves the node.
func (s *Service) Export(ctx context.Context, a Actor, id, format string) (Case, []audit.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.read(ctx, a, id)
	if err != nil {
		return Case{}, nil, err
	}
	e, err := s.cfg.Audit.Record(ctx, actorName(a), "case.export", "case/"+c.ID, map[string]string{"format": format, "version": strconv.Itoa(c.Version)})
	if err != nil {
		return Case{}, nil, fmt.Errorf("audit export: %w", err)
	}
	if err := s.cfg.Store.SaveCase(ctx, Write{CaseID: c.ID, Event: e}); err != nil {
		return Case{}, nil, fmt.Errorf("record export: %w", err)
	}
	tl, err := s.cfg.Store.CaseTimeline(ctx, c.ID)
	return c, tl, err
}

// Publish shares the case with partners: the addresses marked to share
// become STIX indicators in a report, in the node's collection, under the
// case's TLP. Publishing again makes new versions of the same objects.
func (s *Service) Publish(ctx context.Context, a Actor, id, collection string) (Case, []intel.Object, error) {
	if s.cfg.Publisher == nil || s.cfg.Creator == nil {
		return Case{}, nil, ErrNoPublisher
	}
	coll, err := text("collection", collection, maxShort, true)
	if err != nil {
		return Case{}, nil, err
	}
	creator, err := s.cfg.Creator(ctx)
	if err != nil {
		return Case{}, nil, err
	}
	var objs []intel.Object
	c, err := s.change(ctx, a, id, 0, "case.publish", func(c *Case, now time.Time) (map[string]string, *Blob, error) {
		var err error
		if objs, err = STIX(*c, creator, now); err != nil {
			return nil, nil, err
		}
		// Posted before the case records it: a failed post leaves no
		// record of a share that did not happen.
		if err := s.cfg.Publisher.PublishObjects(ctx, coll, objs); err != nil {
			return nil, nil, fmt.Errorf("publish case %s to %s: %w", c.Reference, coll, err)
		}
		c.Shares = append(c.Shares, Share{Collection: coll, TLP: c.TLP, Objects: len(objs), Time: now, By: a.Name})
		return map[string]string{"collection": coll, "tlp": c.TLP.String(), "objects": strconv.Itoa(len(objs))}, nil, nil
	})
	return c, objs, err
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("case id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
