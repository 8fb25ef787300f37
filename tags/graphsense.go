package tags

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/chain"
)

// Confidence levels on GraphSense's scale. The names in the first block
// are GraphSense's own; the others appear in public TagPacks and are
// placed beside their closest documented level.
var confidenceLevels = map[string]int{
	"ownership":              100,
	"manual_transaction":     90,
	"service_api":            70,
	"forensic_investigation": 70,
	"authority_data":         60,
	"web_crawl":              20,
	"heuristic":              10,
	"unknown":                5,

	"ledger_immanent":       100, // read off the ledger itself
	"service_data":          70,  // published by the service, like service_api
	"forensic":              70,  // short for forensic_investigation
	"untrusted_transaction": 50,  // a transaction with the entity, not verified
}

// Confidence maps a level name to its number; unknown names count as
// "unknown".
func Confidence(name string) int {
	if v, ok := confidenceLevels[strings.ToLower(strings.TrimSpace(name))]; ok {
		return v
	}
	return confidenceLevels["unknown"]
}

// categoryOf maps GraphSense's category and abuse vocabularies onto
// tracehound's categories; anything else is kept as written.
func categoryOf(category, abuse string) Category {
	switch strings.ToLower(category) {
	case "mixing_service", "coinjoin", "mixer":
		return Mixer
	case "market", "darknet_market":
		return Darknet
	case "defi", "defi_lending", "defi_dex", "defi_bridge":
		return DeFi
	case "bridge":
		return Bridge
	case "wallet_service", "payment_processor", "service":
		return Service
	case "black_list":
		return Sanctioned
	case "":
	default:
		return Category(strings.ToLower(category))
	}
	return AbuseCategory(abuse)
}

// Abuses are GraphSense's abuse types, which tags keep as written.
var Abuses = []string{"phishing", "scam", "service_hack", "ponzi_scheme", "pyramid_scheme", "investment_fraud",
	"sextortion", "sanction", "ransomware", "extremism", "terrorism", "terrorist_financing", "hack"}

// AbuseCategory maps a GraphSense abuse type onto tracehound's categories;
// Unknown for none, and anything else kept as written.
func AbuseCategory(abuse string) Category {
	switch strings.ToLower(strings.TrimSpace(abuse)) {
	case "ransomware":
		return Ransomware
	case "sanction":
		return Sanctioned
	case "service_hack", "hack":
		return Hack
	case "terrorism", "terrorist_financing", "extremism":
		return Terrorism
	case "phishing", "scam", "ponzi_scheme", "pyramid_scheme", "investment_fraud", "sextortion":
		return Scam
	case "":
		return Unknown
	default:
		return Category(strings.ToLower(abuse))
	}
}

// Problem is a tag skipped on import, with where it is.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %q: %s", p.File, p.Line, p.Input, p.Reason)
}

// headerKeys are the fields a tag inherits from its pack's header.
var headerKeys = []string{"label", "source", "category", "abuse", "currency", "network", "confidence", "lastmod", "actor", "context"}

// ParseTagPack reads a GraphSense TagPack. Every tag inherits the
// header's fields it does not set itself; values are trimmed. Tags with
// an invalid address are returned as problems, never failing the pack.
func ParseTagPack(data []byte, file string, p *chain.Parser) ([]Tag, []Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s: not a TagPack: the document is not a mapping", file)
	}
	root := doc.Content[0]
	header := map[string]string{}
	var tagsNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		if k == "tags" {
			tagsNode = v
			continue
		}
		if v.Kind == yaml.ScalarNode {
			header[k] = strings.TrimSpace(v.Value)
		}
	}
	if tagsNode == nil || tagsNode.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s: not a TagPack: no tags list", file)
	}
	pack := header["title"]
	if pack == "" {
		pack = file
	}
	var out []Tag
	var problems []Problem
	for _, tn := range tagsNode.Content {
		if tn.Kind != yaml.MappingNode {
			problems = append(problems, Problem{File: file, Line: tn.Line, Reason: "a tag is not a mapping"})
			continue
		}
		f := make(map[string]string, 8)
		for _, k := range headerKeys {
			if v, ok := header[k]; ok {
				f[k] = v
			}
		}
		for i := 0; i+1 < len(tn.Content); i += 2 {
			if v := tn.Content[i+1]; v.Kind == yaml.ScalarNode {
				f[tn.Content[i].Value] = strings.TrimSpace(v.Value)
			}
		}
		raw := f["address"]
		currency := f["currency"]
		if currency == "" {
			currency = f["network"]
		}
		addr, err := p.Parse(raw, chain.ParseChain(currency))
		if err != nil {
			reason := chain.ErrorReason(err)
			if reason == "" {
				reason = err.Error()
			}
			problems = append(problems, Problem{File: file, Line: tn.Line, Input: raw, Reason: reason})
			continue
		}
		entity := f["actor"]
		if entity == "" {
			entity = f["label"]
		}
		level := f["confidence"]
		t := Tag{Address: addr, Entity: entity, Label: f["label"], Category: categoryOf(f["category"], f["abuse"]),
			Abuse: f["abuse"], Source: f["source"], Pack: pack, Confidence: Confidence(level), ConfidenceLevel: level,
			LastMod: parseDate(f["lastmod"])}
		out = append(out, t)
	}
	return out, problems, nil
}

// parseDate reads the date forms TagPacks use; an unreadable date is
// left zero rather than failing the tag.
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02 15:04:05", "2006/01/02", "2006-01"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if n := len(bytes.TrimLeft([]byte(s), "0123456789")); n == 0 && len(s) == 10 {
		var sec int64
		fmt.Sscan(s, &sec)
		return time.Unix(sec, 0).UTC()
	}
	return time.Time{}
}
