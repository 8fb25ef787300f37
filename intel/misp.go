package intel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MISP exports events as JSON: an Event with attributes and objects. The
// wallet addresses in one are attributes of the cryptocurrency types
// (btc, xmr, ...) and coin-address objects, whose "address" attribute
// holds the address and "symbol" the currency. ImportMISP turns an event
// into a Publication, so that it is shared as STIX like any other report;
// the event's tlp tag sets the marking.

type mispTag struct {
	Name string `json:"name"`
}

type mispAttribute struct {
	Type           string    `json:"type"`
	Value          string    `json:"value"`
	ObjectRelation string    `json:"object_relation"`
	Comment        string    `json:"comment"`
	ToIDS          mispBool  `json:"to_ids"`
	Tag            []mispTag `json:"Tag"`
}

// mispBool is MISP's to_ids: a JSON boolean, or "0"/"1" in older
// exports; absent is true, MISP's default for wallet attributes.
type mispBool struct{ set, v bool }

func (b *mispBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true", "1":
		*b = mispBool{true, true}
	case "false", "0":
		*b = mispBool{true, false}
	case "null", "":
	default:
		return fmt.Errorf("to_ids %s: want a boolean", data)
	}
	return nil
}

func (b mispBool) isTrue() bool { return !b.set || b.v }

// mispListed reads a wallet's role from its comment, whose first word may
// name one (see ParseRole); otherwise an attribute marked for IDS is the
// perpetrator's (thief), and one not marked is context MISP does not say
// the role of: an error, rather than a guess that would publish a
// victim's or an exchange's wallet as malicious.
func mispListed(uuid, chain, addr, comment string, ids mispBool) (Listed, error) {
	l := Listed{Chain: chain, Address: addr, Note: strings.TrimSpace(comment)}
	if r, rest, err := ParseRole(comment); err == nil {
		l.Role, l.Note = r, rest
		return l, nil
	}
	if !ids.isTrue() {
		return l, fmt.Errorf("misp: event %s: wallet %s is not marked to_ids and its comment %q names no role (victim, thief, laundering, sanctioned, service)", uuid, addr, comment)
	}
	l.Role = RoleThief
	return l, nil
}

type mispObject struct {
	Name      string          `json:"name"`
	Comment   string          `json:"comment"`
	Attribute []mispAttribute `json:"Attribute"`
}

type mispEvent struct {
	Info string `json:"info"`
	UUID string `json:"uuid"`
	Date string `json:"date"`
	Orgc struct {
		Name string `json:"name"`
	} `json:"Orgc"`
	Tag       []mispTag       `json:"Tag"`
	Attribute []mispAttribute `json:"Attribute"`
	Object    []mispObject    `json:"Object"`
}

// mispCoinTypes are MISP attribute types holding a wallet address, and
// the chain each names.
var mispCoinTypes = map[string]string{"btc": "btc", "xmr": "xmr", "dash": "dash", "bch": "bch", "eth": "eth", "ltc": "ltc", "trx": "tron"}

// ImportMISP reads a MISP event export ({"Event": ...}, or a list of
// them under "response") and returns one publication per event with its
// wallet addresses. An event without a tlp tag is marked unmarked in the
// result (ok false), for the caller to decide; creator names the event's
// creating organisation.
func ImportMISP(data []byte) ([]MISPEvent, error) {
	var single struct {
		Event *mispEvent `json:"Event"`
	}
	var list struct {
		Response []struct {
			Event *mispEvent `json:"Event"`
		} `json:"response"`
	}
	var events []*mispEvent
	if err := json.Unmarshal(data, &single); err == nil && single.Event != nil {
		events = append(events, single.Event)
	} else if err := json.Unmarshal(data, &list); err == nil && len(list.Response) > 0 {
		for _, r := range list.Response {
			if r.Event != nil {
				events = append(events, r.Event)
			}
		}
	} else {
		return nil, errors.New("misp: not a MISP event export (no Event)")
	}
	var out []MISPEvent
	for _, ev := range events {
		me := MISPEvent{Name: ev.Info, Creator: ev.Orgc.Name, UUID: ev.UUID}
		if t, err := time.Parse(time.DateOnly, ev.Date); err == nil {
			me.Date = t
		}
		for _, tg := range ev.Tag {
			if t, ok := TLPFromMISPTag(tg.Name); ok && (!me.Marked || t > me.TLP) {
				me.TLP, me.Marked = t, true
			}
		}
		for _, a := range ev.Attribute {
			if c, ok := mispCoinTypes[strings.ToLower(a.Type)]; ok && strings.TrimSpace(a.Value) != "" {
				l, err := mispListed(ev.UUID, c, strings.TrimSpace(a.Value), a.Comment, a.ToIDS)
				if err != nil {
					return nil, err
				}
				me.Addresses = append(me.Addresses, l)
			}
		}
		for _, o := range ev.Object {
			if o.Name != "coin-address" {
				continue
			}
			var addr, chain string
			var ids mispBool
			for _, a := range o.Attribute {
				switch a.ObjectRelation {
				case "address":
					addr, ids = strings.TrimSpace(a.Value), a.ToIDS
					if c, ok := mispCoinTypes[strings.ToLower(a.Type)]; ok && chain == "" {
						chain = c
					}
				case "symbol":
					chain = strings.ToLower(strings.TrimSpace(a.Value))
				}
			}
			if addr != "" {
				l, err := mispListed(ev.UUID, chain, addr, o.Comment, ids)
				if err != nil {
					return nil, err
				}
				me.Addresses = append(me.Addresses, l)
			}
		}
		if me.Name == "" {
			return nil, fmt.Errorf("misp: event %s has no info", ev.UUID)
		}
		out = append(out, me)
	}
	return out, nil
}

// MISPEvent is what an imported MISP event says about wallets.
type MISPEvent struct {
	UUID, Name, Creator string
	Date                time.Time
	TLP                 TLP
	Marked              bool
	Addresses           []Listed
}
