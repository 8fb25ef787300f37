package sanctions

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

const featurePrefix = "Digital Currency Address - "

// xmlParser streams OFAC's SDN advanced XML token by token, keeping only
// what digital-currency addresses need: the feature types, the parties
// with an address, and their programs. The document is never held whole.
type xmlParser struct {
	d *xml.Decoder
	// assets maps a FeatureTypeID to its asset code (XBT, ETH ...).
	assets map[string]string
	// parties with at least one address, by profile id, in file order.
	parties map[string]*xmlParty
	order   []*xmlParty

	date              [3]int
	inDate, sawEnd    bool
	sawFeatureTypes   bool
	path              []string
	text              strings.Builder
	party             *xmlParty
	primaryAlias      bool
	feature           *Entry
	featureTypeID     string
	entryProfile      string
	inMeasureComment  bool
	inFeatureTypeElem bool
}

type xmlParty struct {
	fixedRef, profile string
	name              []string
	programs          []string
	entries           []Entry
}

func parseXML(ctx context.Context, r io.Reader, l *List) error {
	p := &xmlParser{d: xml.NewDecoder(r), assets: map[string]string{}, parties: map[string]*xmlParty{}}
	for n := 0; ; n++ {
		if n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tok, err := p.d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.errorf("%w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			p.start(t)
		case xml.EndElement:
			if err := p.end(t.Name.Local); err != nil {
				return err
			}
		case xml.CharData:
			p.text.Write(t)
		}
	}
	if !p.sawEnd {
		return p.errorf("document ends before </Sanctions>: the file is truncated")
	}
	if len(p.path) != 0 {
		return p.errorf("unclosed <%s>", p.path[len(p.path)-1])
	}
	if p.date[0] == 0 {
		return p.errorf("no DateOfIssue: not an SDN advanced XML list")
	}
	if !p.sawFeatureTypes {
		return p.errorf("no FeatureTypeValues: not an SDN advanced XML list")
	}
	l.Date = time.Date(p.date[0], time.Month(p.date[1]), p.date[2], 0, 0, 0, 0, time.UTC)
	for _, pt := range p.order {
		party := Party{FixedRef: pt.fixedRef, Name: strings.ToUpper(strings.Join(pt.name, " ")), Programs: pt.programs}
		for _, e := range pt.entries {
			e.Party = party
			l.Entries = append(l.Entries, e)
		}
	}
	return nil
}

func (p *xmlParser) errorf(format string, args ...any) error {
	line, col := p.d.InputPos()
	return fmt.Errorf("XML at line %d, column %d (byte %d): %w", line, col, p.d.InputOffset(), fmt.Errorf(format, args...))
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (p *xmlParser) start(t xml.StartElement) {
	name := t.Name.Local
	p.path = append(p.path, name)
	p.text.Reset()
	switch name {
	case "DateOfIssue":
		p.inDate = true
	case "FeatureTypeValues":
		p.sawFeatureTypes = true
	case "FeatureType":
		p.inFeatureTypeElem = true
		p.featureTypeID = attr(t, "ID")
	case "DistinctParty":
		p.party = &xmlParty{fixedRef: attr(t, "FixedRef")}
	case "Profile":
		if p.party != nil {
			p.party.profile = attr(t, "ID")
		}
	case "Alias":
		p.primaryAlias = p.party != nil && attr(t, "Primary") == "true" && len(p.party.name) == 0
	case "Feature":
		if p.party != nil {
			if asset, ok := p.assets[attr(t, "FeatureTypeID")]; ok {
				p.feature = &Entry{Asset: asset, FeatureID: attr(t, "ID")}
			}
		}
	case "SanctionsEntry":
		p.entryProfile = attr(t, "ProfileID")
	case "Comment":
		p.inMeasureComment = len(p.path) >= 2 && p.path[len(p.path)-2] == "SanctionsMeasure"
	}
}

func (p *xmlParser) end(name string) error {
	if len(p.path) == 0 || p.path[len(p.path)-1] != name {
		return p.errorf("unexpected </%s>", name)
	}
	p.path = p.path[:len(p.path)-1]
	text := strings.TrimSpace(p.text.String())
	p.text.Reset()
	switch name {
	case "Year", "Month", "Day":
		if p.inDate {
			v, err := strconv.Atoi(text)
			if err != nil {
				return p.errorf("DateOfIssue %s %q: %w", name, text, err)
			}
			p.date[map[string]int{"Year": 0, "Month": 1, "Day": 2}[name]] = v
		}
	case "DateOfIssue":
		p.inDate = false
	case "FeatureType":
		if p.inFeatureTypeElem && strings.HasPrefix(text, featurePrefix) {
			p.assets[p.featureTypeID] = strings.TrimSpace(strings.TrimPrefix(text, featurePrefix))
		}
		p.inFeatureTypeElem = false
	case "NamePartValue":
		if p.primaryAlias && text != "" {
			p.party.name = append(p.party.name, text)
		}
	case "Alias":
		p.primaryAlias = false
	case "VersionDetail":
		if p.feature != nil && text != "" {
			if p.feature.Address != "" {
				return p.errorf("feature %s has two addresses", p.feature.FeatureID)
			}
			p.feature.Address = text
		}
	case "Feature":
		if p.feature != nil {
			if p.feature.Address == "" {
				return p.errorf("digital currency feature %s of party %s has no address", p.feature.FeatureID, p.party.fixedRef)
			}
			p.party.entries = append(p.party.entries, *p.feature)
			p.feature = nil
		}
	case "DistinctParty":
		if len(p.party.entries) > 0 {
			if p.party.profile == "" {
				return p.errorf("party %s has no profile", p.party.fixedRef)
			}
			p.parties[p.party.profile] = p.party
			p.order = append(p.order, p.party)
		}
		p.party = nil
	case "Comment":
		if p.inMeasureComment && text != "" {
			if pt, ok := p.parties[p.entryProfile]; ok && !contains(pt.programs, text) {
				pt.programs = append(pt.programs, text)
			}
		}
		p.inMeasureComment = false
	case "Sanctions":
		p.sawEnd = true
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
