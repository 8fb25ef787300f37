package cases_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
)

func TestReports(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "BYBIT-2025", Title: `Bybit </title><script>alert("t")</script>`,
		Summary: "Funds left the cold wallet; 한국어 요약 and 日本語の概要."})
	var err error
	if c, err = f.svc.AddNote(ctx, alice, c.ID, `<img src=x onerror=alert(1)> and <a href="javascript:alert(2)">x</a>`); err != nil {
		t.Fatal(err)
	}
	if c, err = f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: theft, Role: "theft", Note: "</td></tr></table><script>x()</script>"}); err != nil {
		t.Fatal(err)
	}
	wei, _ := chain.ParseAmount("401346000000000000000000")
	if c, _, err = f.svc.DraftFreeze(ctx, alice, c.ID, cases.FreezeDraft{Service: "Exchange <b>12</b>", Chain: "eth", Address: theft, Requested: wei}); err != nil {
		t.Fatal(err)
	}
	c, tl, err := f.svc.Export(ctx, alice, c.ID, "html")
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := cases.WriteHTML(&html, c, tl, f.now); err != nil {
		t.Fatal(err)
	}
	out := html.String()
	for _, bad := range []string{"<script>", "<img", "<a ", "<b>"} {
		if strings.Contains(out, bad) {
			t.Errorf("the report holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "401346 ETH", "401346000000000000000000", "TLP:AMBER", "한국어 요약", tl[len(tl)-1].Hash, "case.export"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// The one style block is the one the CSP allows by hash.
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("%d style blocks", len(m))
	}
	sum := sha256.Sum256([]byte(m[0][1]))
	if !strings.Contains(cases.ReportCSP, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(cases.ReportCSP, "default-src 'none'") {
		t.Errorf("CSP %q does not allow the report's style", cases.ReportCSP)
	}

	var pdf, again bytes.Buffer
	if err := cases.WritePDF(&pdf, c, tl, f.now, nil); err != nil {
		t.Fatal(err)
	}
	if err := cases.WritePDF(&again, c, tl, f.now, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) || !bytes.Contains(pdf.Bytes(), []byte("%%EOF")) {
		t.Errorf("not a PDF: %.40q", pdf.Bytes())
	}
	if !bytes.Equal(pdf.Bytes(), again.Bytes()) {
		t.Error("the same case at the same time gave two PDFs")
	}
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		chain  chain.Chain
		asset  chain.Asset
		amount string
		want   string
	}{
		{chain.Ethereum, "", "401346000000000000000000", "401346 ETH"},
		{chain.Ethereum, "", "1", "0.000000000000000001 ETH"},
		{chain.Ethereum, "", "0", "0 ETH"},
		{chain.Bitcoin, "", "5000000000", "50 BTC"},
		{chain.Bitcoin, "", "123456789", "1.23456789 BTC"},
		{chain.Tron, "", "1500000", "1.5 TRX"},
		{chain.Ethereum, "0xdac17f958d2ee523a2206206994597c13d831ec7", "1000000", "1000000 base units of 0xdac17f958d2ee523a2206206994597c13d831ec7"},
		{chain.Ethereum, "", "115792089237316195423570985008687907853269984665640564039457584007913129639935", "115792089237316195423570985008687907853269984665640564039457.584007913129639935 ETH"},
	} {
		a, err := chain.ParseAmount(c.amount)
		if err != nil {
			t.Fatal(err)
		}
		if got := cases.FormatAmount(c.chain, c.asset, a); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.chain, c.amount, got, c.want)
		}
	}
}

// FuzzDecimal checks that placing the point loses no digit: removing it
// and padding the fraction back gives the integer.
func FuzzDecimal(f *testing.F) {
	f.Add("1500", 3)
	f.Add("1", 18)
	f.Add("0", 8)
	f.Add("100000000", 8)
	f.Fuzz(func(t *testing.T, digits string, decimals int) {
		if digits == "" || strings.Trim(digits, "0123456789") != "" || decimals < 0 || decimals > 80 {
			return
		}
		digits = strings.TrimLeft(digits, "0")
		if digits == "" {
			digits = "0"
		}
		got := cases.Decimal(digits, decimals)
		whole, frac, _ := strings.Cut(got, ".")
		if strings.HasSuffix(frac, "0") || len(frac) > decimals {
			t.Fatalf("Decimal(%q, %d) = %q: trailing zero or too many places", digits, decimals, got)
		}
		back := strings.TrimLeft(whole+frac+strings.Repeat("0", decimals-len(frac)), "0")
		if back == "" {
			back = "0"
		}
		if back != digits {
			t.Fatalf("Decimal(%q, %d) = %q reads back as %q", digits, decimals, got, back)
		}
	})
}
