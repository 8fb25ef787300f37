package cases

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/tracehound/tracehound/audit"
)

// PDFFont is a TrueType font for the PDF report's text. The default, the
// Go fonts, covers Latin, Greek and Cyrillic; an operator whose cases are
// written in Japanese or Korean gives a font that covers them.
type PDFFont struct {
	Regular, Bold []byte
}

// WritePDF writes c as a PDF report with the same content as WriteHTML.
// A character the font cannot draw is written as its code point (<U+XXXX>)
// rather than dropped, and the report says so on its first page: the
// HTML report shows every character.
func WritePDF(w io.Writer, c Case, timeline []audit.Entry, now time.Time, font *PDFFont) error {
	regular, bold := goregular.TTF, gobold.TTF
	if font != nil && len(font.Regular) > 0 {
		regular, bold = font.Regular, font.Bold
		if len(bold) == 0 {
			bold = regular
		}
	}
	cover, err := newCoverage(regular)
	if err != nil {
		return fmt.Errorf("case report: font: %w", err)
	}
	mono, err := newCoverage(gomono.TTF)
	if err != nil {
		return fmt.Errorf("case report: font: %w", err)
	}
	p := fpdf.New("P", "mm", "A4", "")
	// A fixed creation date and no compression differences: the same case
	// at the same time gives the same bytes.
	p.SetCreationDate(now)
	p.SetModificationDate(now)
	p.SetCatalogSort(true)
	p.SetTitle(c.Reference+": "+c.Title, true)
	p.SetCreator("tracehound", true)
	p.AddUTF8FontFromBytes("body", "", regular)
	p.AddUTF8FontFromBytes("body", "B", bold)
	p.AddUTF8FontFromBytes("mono", "", gomono.TTF)
	p.SetMargins(15, 15, 15)
	p.SetAutoPageBreak(true, 15)
	tlp := c.TLP.String()
	p.SetHeaderFuncMode(func() {
		p.SetFont("body", "B", 9)
		p.SetFillColor(0, 0, 0)
		r, g, b := tlpColor(c)
		p.SetTextColor(r, g, b)
		p.CellFormat(p.GetStringWidth(tlp)+6, 6, tlp, "", 0, "L", true, 0, "")
		p.SetTextColor(60, 60, 60)
		p.SetFont("body", "", 8)
		p.CellFormat(0, 6, cover.clean(c.Reference)+"  page "+strconv.Itoa(p.PageNo()), "", 1, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
		p.Ln(2)
	}, true)
	p.AddPage()
	missing := false
	txt := func(s string) string {
		out := cover.clean(s)
		if out != s {
			missing = true
		}
		return out
	}
	heading := func(s string) {
		p.Ln(3)
		p.SetFont("body", "B", 12)
		p.CellFormat(0, 7, txt(s), "B", 1, "L", false, 0, "")
		p.Ln(1)
		p.SetFont("body", "", 9)
	}
	line := func(s string) {
		p.SetFont("body", "", 9)
		p.MultiCell(0, 4.5, txt(s), "", "L", false)
	}
	code := func(s string) {
		p.SetFont("mono", "", 8)
		p.MultiCell(0, 4, mono.clean(s), "", "L", false)
		p.SetFont("body", "", 9)
	}
	p.SetFont("body", "B", 16)
	p.MultiCell(0, 8, txt(c.Reference+": "+c.Title), "", "L", false)
	line(fmt.Sprintf("Case %s, version %d, %s. Opened by %s on %s; last changed %s. Report generated %s.",
		c.ID, c.Version, c.Status, c.Creator, stamp(c.Created), stamp(c.Updated), stamp(now)))
	if c.Summary != "" {
		p.Ln(2)
		line(c.Summary)
	}
	if len(c.Seeds) > 0 {
		heading("Seeds")
		for _, s := range c.Seeds {
			code(string(s.Chain) + " " + s.Seed)
			line(fmt.Sprintf("added %s by %s. %s", stamp(s.Added), s.By, s.Note))
		}
	}
	if len(c.Addresses) > 0 {
		heading("Addresses of interest")
		for _, a := range c.Addresses {
			code(string(a.Chain) + " " + a.Address)
			share := "not shared"
			if a.Share {
				share = "shared with partners"
			}
			line(fmt.Sprintf("%s, %s. %s", a.Role, share, a.Note))
		}
	}
	if len(c.Freezes) > 0 {
		heading("Freeze requests")
		for _, f := range c.Freezes {
			p.SetFont("body", "B", 9)
			p.MultiCell(0, 5, txt(fmt.Sprintf("%s to %s: %s", f.ID, f.Service, f.Status)), "", "L", false)
			code(string(f.Chain) + " " + f.Address)
			line(fmt.Sprintf("requested %s (%s base units); frozen %s (%s); released %s (%s)",
				FormatAmount(f.Chain, f.Asset, f.Requested), f.Requested, FormatAmount(f.Chain, f.Asset, f.Frozen), f.Frozen,
				FormatAmount(f.Chain, f.Asset, f.Released), f.Released))
			for _, h := range f.History {
				line(fmt.Sprintf("  %s %s by %s %s", stamp(h.Time), h.Status, h.By, h.Note))
			}
		}
	}
	if len(c.Traces) > 0 {
		heading("Saved traces")
		for _, t := range c.Traces {
			for _, v := range t.Versions {
				line(fmt.Sprintf("%s %s, version %d, run %s by %s: %d addresses, %d endpoints, through block %d",
					t.ID, t.Name, v.Version, stamp(v.Created), v.By, v.Summary.Nodes, v.Summary.Endpoints, v.Summary.Through))
				code("sha256 " + v.SHA256)
			}
		}
	}
	if len(c.Alerts) > 0 || len(c.Watches) > 0 {
		heading("Linked alerts and watches")
		for _, a := range c.Alerts {
			line(fmt.Sprintf("alert %s of watch %s: %s %s", a.ID, a.Watch, a.Chain, a.Address))
		}
		if len(c.Watches) > 0 {
			line("watches: " + strings.Join(c.Watches, ", "))
		}
	}
	if len(c.Attachments) > 0 {
		heading("Attachments")
		for _, a := range c.Attachments {
			line(fmt.Sprintf("%s %s (%s, %d bytes), added %s by %s", a.ID, a.Name, a.ContentType, a.Size, stamp(a.Added), a.By))
			code("sha256 " + a.SHA256)
		}
	}
	if len(c.Notes) > 0 {
		heading("Notes")
		for _, n := range c.Notes {
			p.SetFont("body", "B", 9)
			p.MultiCell(0, 5, txt(fmt.Sprintf("%s, %s by %s", n.ID, stamp(n.Time), n.By)), "", "L", false)
			line(n.Text)
		}
	}
	if len(c.Shares) > 0 {
		heading("Shared with partners")
		for _, s := range c.Shares {
			line(fmt.Sprintf("%s: %d objects under %s, %s by %s", s.Collection, s.Objects, s.TLP, stamp(s.Time), s.By))
		}
	}
	heading("Timeline (audit log)")
	for _, e := range timeline {
		line(fmt.Sprintf("#%d %s %s %s", e.Seq, stamp(e.Time), e.Actor, e.Action))
		if len(e.Detail) > 0 {
			code(joinDetail(e.Detail))
		}
	}
	if len(timeline) > 0 {
		line("The last entry's hash in the node's hash-chained audit log:")
		code(timeline[len(timeline)-1].Hash)
	}
	if missing {
		p.Ln(3)
		p.SetFont("body", "B", 9)
		p.MultiCell(0, 5, "Some characters are outside this report's font and are written as <U+XXXX>; the HTML report shows them as written.", "", "L", false)
	}
	if err := p.Output(w); err != nil {
		return fmt.Errorf("case report: %w", err)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func tlpColor(c Case) (int, int, int) {
	switch c.TLP.String() {
	case "TLP:RED":
		return 0xff, 0x2b, 0x2b
	case "TLP:AMBER", "TLP:AMBER+STRICT":
		return 0xff, 0xc0, 0
	case "TLP:GREEN":
		return 0x33, 0xff, 0
	}
	return 0xff, 0xff, 0xff
}

// coverage knows which characters a font can draw.
type coverage struct {
	f   *sfnt.Font
	buf sfnt.Buffer
}

func newCoverage(ttf []byte) (*coverage, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, err
	}
	return &coverage{f: f}, nil
}

// clean writes the characters the font lacks as <U+XXXX>, and control
// characters other than newline and tab as spaces.
func (c *coverage) clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			if i, err := c.f.GlyphIndex(&c.buf, r); err != nil || i == 0 {
				fmt.Fprintf(&b, "<U+%04X>", r)
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
