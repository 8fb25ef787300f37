package intel

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file implements the STIX 2.1 patterning language as the OASIS ANTLR
// grammar (STIXPattern.g4) defines it: the lexer reproduces ANTLR's
// longest-match tokenisation, and a recursive-descent parser replaces the
// grammar's left-recursive rules with loops of the same associativity and
// precedence (FOLLOWEDBY < OR < AND, then qualifiers).

// maxPatternDepth bounds the nesting of parentheses and brackets, so a
// hostile pattern cannot exhaust the stack.
const maxPatternDepth = 100

// A Pattern is a parsed STIX pattern.
type Pattern struct {
	Root ObservationExpr
}

// String renders the pattern in a normal form that parses back to an equal
// pattern.
func (p *Pattern) String() string { return p.Root.String() }

// Comparisons returns every comparison in the pattern, in source order.
func (p *Pattern) Comparisons() []*Comparison {
	var out []*Comparison
	var walkCmp func(ComparisonExpr)
	walkCmp = func(e ComparisonExpr) {
		switch e := e.(type) {
		case *Comparison:
			out = append(out, e)
		case *ComparisonOp:
			walkCmp(e.Left)
			walkCmp(e.Right)
		case *ComparisonGroup:
			walkCmp(e.Expr)
		}
	}
	var walkObs func(ObservationExpr)
	walkObs = func(e ObservationExpr) {
		switch e := e.(type) {
		case *Observation:
			walkCmp(e.Expr)
		case *ObservationOp:
			walkObs(e.Left)
			walkObs(e.Right)
		case *ObservationGroup:
			walkObs(e.Expr)
		case *Qualified:
			walkObs(e.Expr)
		}
	}
	walkObs(p.Root)
	return out
}

// ObservationExpr is an observation expression: *Observation,
// *ObservationOp, *ObservationGroup or *Qualified.
type ObservationExpr interface {
	String() string
	write(*strings.Builder)
}

// Observation is a bracketed comparison expression, "[...]".
type Observation struct {
	Expr ComparisonExpr
}

// ObservationOp joins two observation expressions with "AND", "OR" or
// "FOLLOWEDBY".
type ObservationOp struct {
	Op          string
	Left, Right ObservationExpr
}

// ObservationGroup is a parenthesised observation expression.
type ObservationGroup struct {
	Expr ObservationExpr
}

// Qualified restricts an observation expression with a qualifier.
type Qualified struct {
	Expr      ObservationExpr
	Qualifier Qualifier
}

// Qualifier is "WITHIN n SECONDS" (Kind "WITHIN", Value n), "REPEATS n
// TIMES" (Kind "REPEATS") or "START t'...' STOP t'...'" (Kind "START",
// Value and Stop the timestamp literals). Values are the source text.
type Qualifier struct {
	Kind  string
	Value string
	Stop  string
}

// The String methods build the text in one buffer: concatenating per node
// would be quadratic on the long chains of ORs that feeds produce.

func (o *Observation) String() string      { return render(o) }
func (o *ObservationOp) String() string    { return render(o) }
func (o *ObservationGroup) String() string { return render(o) }
func (o *Qualified) String() string        { return render(o) }

func render(n interface{ write(*strings.Builder) }) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (o *Observation) write(b *strings.Builder) {
	b.WriteByte('[')
	o.Expr.write(b)
	b.WriteByte(']')
}

func (o *ObservationOp) write(b *strings.Builder) {
	o.Left.write(b)
	b.WriteString(" " + o.Op + " ")
	o.Right.write(b)
}

func (o *ObservationGroup) write(b *strings.Builder) {
	b.WriteByte('(')
	o.Expr.write(b)
	b.WriteByte(')')
}

func (o *Qualified) write(b *strings.Builder) {
	o.Expr.write(b)
	b.WriteString(" " + o.Qualifier.String())
}

func (q Qualifier) String() string {
	switch q.Kind {
	case "WITHIN":
		return "WITHIN " + q.Value + " SECONDS"
	case "REPEATS":
		return "REPEATS " + q.Value + " TIMES"
	}
	return "START " + q.Value + " STOP " + q.Stop
}

// ComparisonExpr is a comparison expression inside brackets: *Comparison,
// *ComparisonOp or *ComparisonGroup.
type ComparisonExpr interface {
	String() string
	write(*strings.Builder)
}

// ComparisonOp joins two comparison expressions with "AND" or "OR".
type ComparisonOp struct {
	Op          string
	Left, Right ComparisonExpr
}

// ComparisonGroup is a parenthesised comparison expression.
type ComparisonGroup struct {
	Expr ComparisonExpr
}

// Comparison tests one property of an observed object.
type Comparison struct {
	Path ObjectPath
	// Negated is set by NOT.
	Negated bool
	// Op is "=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES",
	// "ISSUBSET", "ISSUPERSET" or "EXISTS". The grammar's "==" and "<>"
	// are read as "=" and "!=".
	Op string
	// Value is the right-hand side; unset for IN and EXISTS.
	Value Literal
	// Set is the right-hand side of IN.
	Set []Literal
}

func (c *ComparisonOp) String() string    { return render(c) }
func (c *ComparisonGroup) String() string { return render(c) }
func (c *Comparison) String() string      { return render(c) }

func (c *ComparisonOp) write(b *strings.Builder) {
	c.Left.write(b)
	b.WriteString(" " + c.Op + " ")
	c.Right.write(b)
}

func (c *ComparisonGroup) write(b *strings.Builder) {
	b.WriteByte('(')
	c.Expr.write(b)
	b.WriteByte(')')
}

func (c *Comparison) write(b *strings.Builder) {
	if c.Op == "EXISTS" {
		if c.Negated {
			b.WriteString("NOT ")
		}
		b.WriteString("EXISTS " + c.Path.String())
		return
	}
	b.WriteString(c.Path.String())
	if c.Negated {
		b.WriteString(" NOT")
	}
	b.WriteString(" " + c.Op + " ")
	if c.Op != "IN" {
		b.WriteString(c.Value.Raw)
		return
	}
	b.WriteByte('(')
	for i, l := range c.Set {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Raw)
	}
	b.WriteByte(')')
}

// ObjectPath names a property of an observable: "file:hashes.'SHA-256'"
// has ObjectType "file" and steps "hashes" and "SHA-256".
type ObjectPath struct {
	ObjectType string
	Steps      []PathStep
}

// PathStep is one step of an object path: a property name (Key, unquoted)
// or, if IsIndex, a list index ("*" or an integer).
type PathStep struct {
	Key     string
	Index   string
	IsIndex bool
}

func (p ObjectPath) String() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.IsIndex:
			b.WriteString("[" + s.Index + "]")
		case i == 0:
			b.WriteString(renderKey(s.Key))
		default:
			b.WriteString("." + renderKey(s.Key))
		}
	}
	return b.String()
}

// renderKey writes a property name bare when the lexer would read it back
// as a plain identifier, and quoted otherwise.
func renderKey(k string) string {
	if isPlainIdent(k) && keyword(k) == tokIdent {
		return k
	}
	return quoteString(k)
}

func quoteString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, `'`, `\'`) + "'"
}

// LiteralKind says which kind of constant a Literal is.
type LiteralKind int

// The literal kinds of the grammar.
const (
	LiteralString LiteralKind = iota + 1
	LiteralInt
	LiteralFloat
	LiteralBool
	LiteralHex
	LiteralBinary
	LiteralTimestamp
)

// Literal is a constant in a comparison. Raw is its source text; for a
// string, Str is the value with escapes resolved.
type Literal struct {
	Kind LiteralKind
	Raw  string
	Str  string
}

// ParsePattern parses a STIX 2.1 pattern. Besides the grammar it enforces
// the spec's rules that an observation expression has at most one
// qualifier of each kind and that WITHIN and REPEATS take positive numbers.
func ParsePattern(s string) (*Pattern, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	p := &parser{toks: toks}
	root, err := p.observationExprs()
	if err == nil && p.peek().kind != tokEOF {
		err = fmt.Errorf("unexpected %s", p.peek())
	}
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	return &Pattern{Root: root}, nil
}

// walletPath reports whether the object path names a wallet address:
// cryptocurrency-wallet:value, the form of the wallet extension, and a few
// spellings older feeds use.
func walletPath(p ObjectPath) bool {
	if len(p.Steps) != 1 || p.Steps[0].IsIndex {
		return false
	}
	switch p.ObjectType + ":" + p.Steps[0].Key {
	case "cryptocurrency-wallet:value",
		"cryptocurrency-wallet:address", // wallet extension before it adopted value
		"x-crypto-wallet:value",
		"x-crypto-wallet:address":
		return true
	}
	return false
}

// WalletAddresses parses a STIX pattern and returns the wallet addresses
// it tests for equality, without duplicates, in source order: string
// values compared with "=" (or listed in IN) on cryptocurrency-wallet:value
// and legacy equivalents. Negated comparisons name wallets the pattern
// excludes, so they are skipped.
func WalletAddresses(pattern string) ([]string, error) {
	p, err := ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := make(map[string]bool)
	add := func(l Literal) {
		if l.Kind == LiteralString && l.Str != "" && !seen[l.Str] {
			seen[l.Str] = true
			out = append(out, l.Str)
		}
	}
	for _, c := range p.Comparisons() {
		if c.Negated || !walletPath(c.Path) {
			continue
		}
		switch c.Op {
		case "=":
			add(c.Value)
		case "IN":
			for _, l := range c.Set {
				add(l)
			}
		}
	}
	return out, nil
}

// Lexer.

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokIdentHyphen
	tokString
	tokIntPos
	tokIntNeg
	tokFloatPos
	tokFloatNeg
	tokHex
	tokBinary
	tokTimestamp
	tokBool
	tokAnd
	tokOr
	tokNot
	tokFollowedBy
	tokLike
	tokMatches
	tokIsSuperset
	tokIsSubset
	tokExists
	tokLast
	tokIn
	tokStart
	tokStop
	tokSeconds
	tokWithin
	tokRepeats
	tokTimes
	tokEQ
	tokNEQ
	tokLT
	tokLE
	tokGT
	tokGE
	tokColon
	tokDot
	tokComma
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokPlus
	tokMinus
	tokPower
	tokDivide
	tokAsterisk
)

type token struct {
	kind tokKind
	text string // source text
	str  string // decoded value of a string literal
	pos  int    // byte offset in the pattern
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of pattern"
	}
	return strconv.Quote(t.text) + " at offset " + strconv.Itoa(t.pos)
}

// keyword classifies a word: a keyword's kind, tokBool, or tokIdent.
// Keywords are case-sensitive.
func keyword(w string) tokKind {
	switch w {
	case "AND":
		return tokAnd
	case "OR":
		return tokOr
	case "NOT":
		return tokNot
	case "FOLLOWEDBY":
		return tokFollowedBy
	case "LIKE":
		return tokLike
	case "MATCHES":
		return tokMatches
	case "ISSUPERSET":
		return tokIsSuperset
	case "ISSUBSET":
		return tokIsSubset
	case "EXISTS":
		return tokExists
	case "LAST":
		return tokLast
	case "IN":
		return tokIn
	case "START":
		return tokStart
	case "STOP":
		return tokStop
	case "SECONDS":
		return tokSeconds
	case "WITHIN":
		return tokWithin
	case "REPEATS":
		return tokRepeats
	case "TIMES":
		return tokTimes
	case "true", "false":
		return tokBool
	}
	return tokIdent
}

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

// isPatternSpace reports whether r is in the grammar's WS rule.
func isPatternSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

func lex(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("not valid UTF-8")
	}
	toks := make([]token, 0, len(s)/8+8) // typical patterns run ~6 bytes a token
	i := 0
	emit := func(k tokKind, n int) {
		toks = append(toks, token{kind: k, text: s[i : i+n], pos: i})
		i += n
	}
	for i < len(s) {
		c := s[i]
		if r, n := utf8.DecodeRuneInString(s[i:]); isPatternSpace(r) {
			i += n
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at offset %d", i)
			}
			i += 2 + end + 2
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexAny(s[i:], "\r\n")
			if end < 0 {
				end = len(s) - i
			}
			i += end
		case c == '\'':
			str, n, err := lexString(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%w at offset %d", err, i)
			}
			toks = append(toks, token{kind: tokString, text: s[i : i+n], str: str, pos: i})
			i += n
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(s) && s[i+1] == '\'':
			// In ANTLR a malformed t'...' falls back to an identifier and a
			// string, which no rule accepts; failing here says why.
			n, err := lexPrefixed(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%w at offset %d", err, i)
			}
			switch c {
			case 't':
				emit(tokTimestamp, n)
			case 'h':
				emit(tokHex, n)
			default:
				emit(tokBinary, n)
			}
		case isIdentStart(c):
			n, hyphen := 1, false
			for i+n < len(s) && (isIdentPart(s[i+n]) || s[i+n] == '-') {
				hyphen = hyphen || s[i+n] == '-'
				n++
			}
			switch {
			case hyphen:
				emit(tokIdentHyphen, n)
			default:
				emit(keyword(s[i:i+n]), n)
			}
		case isDigit(c) || c == '+' || c == '-' || c == '.':
			if kind, n := lexNumber(s[i:]); n > 0 {
				emit(kind, n)
				break
			}
			kind, _ := punctuation(c)
			emit(kind, 1)
		case c == '=':
			if strings.HasPrefix(s[i:], "==") {
				emit(tokEQ, 2)
			} else {
				emit(tokEQ, 1)
			}
		case c == '!':
			if !strings.HasPrefix(s[i:], "!=") {
				return nil, fmt.Errorf("unexpected '!' at offset %d", i)
			}
			emit(tokNEQ, 2)
		case c == '<':
			switch {
			case strings.HasPrefix(s[i:], "<="):
				emit(tokLE, 2)
			case strings.HasPrefix(s[i:], "<>"):
				emit(tokNEQ, 2)
			default:
				emit(tokLT, 1)
			}
		case c == '>':
			if strings.HasPrefix(s[i:], ">=") {
				emit(tokGE, 2)
			} else {
				emit(tokGT, 1)
			}
		default:
			kind, ok := punctuation(c)
			if !ok {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return nil, fmt.Errorf("unexpected character %q at offset %d", r, i)
			}
			emit(kind, 1)
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(s)})
	return toks, nil
}

// punctuation classifies the one-character tokens.
func punctuation(c byte) (tokKind, bool) {
	switch c {
	case ':':
		return tokColon, true
	case '.':
		return tokDot, true
	case ',':
		return tokComma, true
	case '(':
		return tokLParen, true
	case ')':
		return tokRParen, true
	case '[':
		return tokLBrack, true
	case ']':
		return tokRBrack, true
	case '+':
		return tokPlus, true
	case '-':
		return tokMinus, true
	case '^':
		return tokPower, true
	case '/':
		return tokDivide, true
	case '*':
		return tokAsterisk, true
	}
	return 0, false
}

// lexString reads a string literal at the start of s and returns its value
// and length. Only \' and \\ are escapes.
func lexString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\'':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			return "", 0, errors.New(`bad escape in string (only \' and \\ are allowed)`)
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string")
}

// lexPrefixed reads a t'...', h'...' or b'...' literal at the start of s
// and returns its length.
func lexPrefixed(s string) (int, error) {
	end := strings.IndexByte(s[2:], '\'')
	if end < 0 {
		return 0, errors.New("unterminated literal")
	}
	body := s[2 : 2+end]
	var ok bool
	switch s[0] {
	case 't':
		ok = isTimestampLiteral(body)
	case 'h':
		ok = len(body)%2 == 0 && strings.Trim(body, "0123456789abcdefABCDEF") == ""
	case 'b':
		ok = isBase64(body)
	}
	if !ok {
		return 0, fmt.Errorf("malformed %c'...' literal", s[0])
	}
	return 2 + end + 1, nil
}

// isTimestampLiteral checks the TimestampLiteral rule, which is narrower
// than RFC 3339: upper-case T and Z, no offset.
func isTimestampLiteral(s string) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 || s[len(s)-1] != 'Z' {
		return false
	}
	for i := range len(layout) {
		if layout[i] == 'd' && !isDigit(s[i]) || layout[i] != 'd' && s[i] != layout[i] {
			return false
		}
	}
	num := func(a, b int) int { n, _ := strconv.Atoi(s[a:b]); return n }
	month, day, hour, minute, sec := num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return false
	}
	frac := s[len(layout) : len(s)-1]
	return frac == "" || len(frac) > 1 && frac[0] == '.' && strings.Trim(frac[1:], "0123456789") == ""
}

// isBase64 checks the BinaryLiteral rule: padded base64 of at least one
// group.
func isBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	data := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '_' || !isIdentPart(c) && c != '+' && c != '/' {
			return false
		}
	}
	return true
}

// lexNumber reads the longest integer or float literal at the start of s,
// as ANTLR does: "007" is three integers, "007.5" one float.
func lexNumber(s string) (tokKind, int) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digitsFrom := func(j int) int {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j
	}
	// Float: [0-9]* '.' [0-9]+
	floatEnd := 0
	if j := digitsFrom(i); j < len(s) && s[j] == '.' {
		if k := digitsFrom(j + 1); k > j+1 {
			floatEnd = k
		}
	}
	// Integer: '0' | [1-9][0-9]*
	intEnd := 0
	if i < len(s) && s[i] == '0' {
		intEnd = i + 1
	} else if i < len(s) && isDigit(s[i]) {
		intEnd = digitsFrom(i)
	}
	switch {
	case floatEnd > intEnd && neg:
		return tokFloatNeg, floatEnd
	case floatEnd > intEnd:
		return tokFloatPos, floatEnd
	case intEnd > 0 && neg:
		return tokIntNeg, intEnd
	case intEnd > 0:
		return tokIntPos, intEnd
	}
	return 0, 0
}

// Parser.

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) accept(k tokKind) (token, bool) {
	if p.peek().kind == k {
		return p.next(), true
	}
	return token{}, false
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	if t, ok := p.accept(k); ok {
		return t, nil
	}
	return token{}, fmt.Errorf("want %s, got %s", what, p.peek())
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxPatternDepth {
		return fmt.Errorf("nested deeper than %d at %s", maxPatternDepth, p.peek())
	}
	return nil
}

// observationExprs: observationExpressionOr (FOLLOWEDBY observationExpressionOr)*
func (p *parser) observationExprs() (ObservationExpr, error) {
	return p.observationBinary(tokFollowedBy, "FOLLOWEDBY", func() (ObservationExpr, error) {
		return p.observationBinary(tokOr, "OR", func() (ObservationExpr, error) {
			return p.observationBinary(tokAnd, "AND", p.observationExpr)
		})
	})
}

func (p *parser) observationBinary(op tokKind, name string, operand func() (ObservationExpr, error)) (ObservationExpr, error) {
	return binaryChain(p, op, operand, func(l, r ObservationExpr) ObservationExpr { return &ObservationOp{Op: name, Left: l, Right: r} })
}

// binaryChain parses a left-associative chain of operands joined by the
// operator op, joining each pair with join.
func binaryChain[E any](p *parser, op tokKind, operand func() (E, error), join func(l, r E) E) (E, error) {
	var zero E
	left, err := operand()
	if err != nil {
		return zero, err
	}
	for {
		if _, ok := p.accept(op); !ok {
			return left, nil
		}
		right, err := operand()
		if err != nil {
			return zero, err
		}
		left = join(left, right)
	}
}

// observationExpr: ('[' comparisonExpression ']' | '(' observationExpressions ')') qualifier*
func (p *parser) observationExpr() (ObservationExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var e ObservationExpr
	switch t := p.next(); t.kind {
	case tokLBrack:
		c, err := p.comparisonExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRBrack, "']'"); err != nil {
			return nil, err
		}
		e = &Observation{Expr: c}
	case tokLParen:
		inner, err := p.observationExprs()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		e = &ObservationGroup{Expr: inner}
	default:
		return nil, fmt.Errorf("want '[' or '(', got %s", t)
	}
	var seen []string // at most three kinds
	for {
		q, ok, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		if !ok {
			return e, nil
		}
		if slices.Contains(seen, q.Kind) {
			return nil, fmt.Errorf("observation expression has two %s qualifiers", q.Kind)
		}
		seen = append(seen, q.Kind)
		e = &Qualified{Expr: e, Qualifier: q}
	}
}

func (p *parser) qualifier() (Qualifier, bool, error) {
	switch p.peek().kind {
	case tokWithin:
		p.next()
		t := p.next()
		if t.kind != tokIntPos && t.kind != tokFloatPos {
			return Qualifier{}, false, fmt.Errorf("WITHIN wants a positive number, got %s", t)
		}
		if v, err := strconv.ParseFloat(t.text, 64); err != nil || v <= 0 {
			return Qualifier{}, false, fmt.Errorf("WITHIN wants a positive number, got %s", t)
		}
		if _, err := p.expect(tokSeconds, "SECONDS"); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: "WITHIN", Value: t.text}, true, nil
	case tokRepeats:
		p.next()
		t := p.next()
		if t.kind != tokIntPos || strings.TrimPrefix(t.text, "+") == "0" {
			return Qualifier{}, false, fmt.Errorf("REPEATS wants a positive integer, got %s", t)
		}
		if _, err := p.expect(tokTimes, "TIMES"); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: "REPEATS", Value: t.text}, true, nil
	case tokStart:
		p.next()
		start, err := p.expect(tokTimestamp, "a timestamp after START")
		if err != nil {
			return Qualifier{}, false, err
		}
		if _, err := p.expect(tokStop, "STOP"); err != nil {
			return Qualifier{}, false, err
		}
		stop, err := p.expect(tokTimestamp, "a timestamp after STOP")
		if err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: "START", Value: start.text, Stop: stop.text}, true, nil
	}
	return Qualifier{}, false, nil
}

// comparisonExpr: comparisonExpressionAnd (OR comparisonExpressionAnd)*
func (p *parser) comparisonExpr() (ComparisonExpr, error) {
	return p.comparisonBinary(tokOr, "OR", func() (ComparisonExpr, error) {
		return p.comparisonBinary(tokAnd, "AND", p.propTest)
	})
}

func (p *parser) comparisonBinary(op tokKind, name string, operand func() (ComparisonExpr, error)) (ComparisonExpr, error) {
	return binaryChain(p, op, operand, func(l, r ComparisonExpr) ComparisonExpr { return &ComparisonOp{Op: name, Left: l, Right: r} })
}

// propTest is one comparison, a parenthesised comparison expression, or an
// EXISTS test.
func (p *parser) propTest() (ComparisonExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if _, ok := p.accept(tokLParen); ok {
		inner, err := p.comparisonExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return &ComparisonGroup{Expr: inner}, nil
	}
	if p.peek().kind == tokExists || p.peek().kind == tokNot && p.toks[p.pos+1].kind == tokExists {
		_, negated := p.accept(tokNot)
		p.next()
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		return &Comparison{Path: path, Negated: negated, Op: "EXISTS"}, nil
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path}
	_, c.Negated = p.accept(tokNot)
	switch t := p.next(); t.kind {
	case tokEQ:
		c.Op = "="
		c.Value, err = p.literal(true)
	case tokNEQ:
		c.Op = "!="
		c.Value, err = p.literal(true)
	case tokLT, tokLE, tokGT, tokGE:
		c.Op = t.text
		c.Value, err = p.literal(false)
	case tokIn:
		c.Op = "IN"
		c.Set, err = p.setLiteral()
	case tokLike, tokMatches, tokIsSubset, tokIsSuperset:
		c.Op = t.text
		var s token
		s, err = p.expect(tokString, "a string")
		c.Value = Literal{Kind: LiteralString, Raw: s.text, Str: s.str}
	default:
		return nil, fmt.Errorf("want a comparison operator, got %s", t)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// objectPath: objectType ':' firstPathComponent objectPathComponent*
func (p *parser) objectPath() (ObjectPath, error) {
	t := p.next()
	if t.kind != tokIdent && t.kind != tokIdentHyphen {
		return ObjectPath{}, fmt.Errorf("want an object type, got %s", t)
	}
	path := ObjectPath{ObjectType: t.text}
	if _, err := p.expect(tokColon, "':'"); err != nil {
		return ObjectPath{}, err
	}
	key, err := p.pathKey()
	if err != nil {
		return ObjectPath{}, err
	}
	path.Steps = append(path.Steps, PathStep{Key: key})
	for {
		switch p.peek().kind {
		case tokDot:
			p.next()
			key, err := p.pathKey()
			if err != nil {
				return ObjectPath{}, err
			}
			path.Steps = append(path.Steps, PathStep{Key: key})
		case tokLBrack:
			p.next()
			idx := p.next()
			if idx.kind != tokIntPos && idx.kind != tokIntNeg && idx.kind != tokAsterisk {
				return ObjectPath{}, fmt.Errorf("want a list index or '*', got %s", idx)
			}
			if _, err := p.expect(tokRBrack, "']'"); err != nil {
				return ObjectPath{}, err
			}
			path.Steps = append(path.Steps, PathStep{Index: idx.text, IsIndex: true})
		default:
			return path, nil
		}
	}
}

// pathKey reads a property name: an identifier without hyphens, or a
// string for names that are not identifiers.
func (p *parser) pathKey() (string, error) {
	switch t := p.next(); t.kind {
	case tokIdent:
		return t.text, nil
	case tokString:
		return t.str, nil
	default:
		return "", fmt.Errorf("want a property name, got %s", t)
	}
}

// literal reads a primitiveLiteral (with booleans) or an orderableLiteral.
func (p *parser) literal(allowBool bool) (Literal, error) {
	t := p.next()
	var k LiteralKind
	switch t.kind {
	case tokString:
		k = LiteralString
	case tokIntPos, tokIntNeg:
		k = LiteralInt
	case tokFloatPos, tokFloatNeg:
		k = LiteralFloat
	case tokHex:
		k = LiteralHex
	case tokBinary:
		k = LiteralBinary
	case tokTimestamp:
		k = LiteralTimestamp
	case tokBool:
		if allowBool {
			k = LiteralBool
		}
	}
	if k == 0 {
		return Literal{}, fmt.Errorf("want a constant, got %s", t)
	}
	return Literal{Kind: k, Raw: t.text, Str: t.str}, nil
}

// setLiteral: '(' ')' | '(' primitiveLiteral (',' primitiveLiteral)* ')'
func (p *parser) setLiteral() ([]Literal, error) {
	if _, err := p.expect(tokLParen, "'('"); err != nil {
		return nil, err
	}
	var set []Literal
	if _, ok := p.accept(tokRParen); ok {
		return set, nil
	}
	for {
		l, err := p.literal(true)
		if err != nil {
			return nil, err
		}
		set = append(set, l)
		if _, ok := p.accept(tokComma); !ok {
			break
		}
	}
	if _, err := p.expect(tokRParen, "')' or ','"); err != nil {
		return nil, err
	}
	return set, nil
}
