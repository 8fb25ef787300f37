package intel

import (
	"encoding/json"
	"errors"
)

// member is one property of a JSON object as written: its name, decoded,
// and its value's bytes.
type member struct {
	name  string
	value []byte
}

var errMalformed = errors.New("malformed JSON object")

// members lists the top-level properties of the JSON object b without
// decoding their values: a pass over the bytes that only follows strings
// and nesting, much cheaper than decoding into a map. It does not check
// what it skips (literals, numbers, escapes): callers decode b with
// encoding/json as well, which does. b that is not an object, or whose
// strings or brackets do not close, is errMalformed.
func members(b []byte) ([]member, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errMalformed
	}
	i = skipSpace(b, i+1)
	out := make([]member, 0, 16)
	if i < len(b) && b[i] == '}' {
		return out, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errMalformed
		}
		end, decode := stringEnd(b, i)
		if end < 0 {
			return nil, errMalformed
		}
		var name string
		if decode {
			if err := json.Unmarshal(b[i:end], &name); err != nil {
				return nil, errMalformed
			}
		} else {
			name = string(b[i+1 : end-1])
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errMalformed
		}
		i = skipSpace(b, i+1)
		vend := valueEnd(b, i)
		if vend < 0 {
			return nil, errMalformed
		}
		out = append(out, member{name: name, value: b[i:vend]})
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return out, nil
		default:
			return nil, errMalformed
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] (a
// quote) and whether it must be decoded to be read: it holds an escape,
// or bytes beyond ASCII (which encoding/json reads as UTF-8, replacing
// what is not). -1 if it does not close.
func stringEnd(b []byte, i int) (int, bool) {
	decode := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			decode = true
			j++
		case c == '"':
			return j + 1, decode
		case c >= 0x80:
			decode = true
		}
	}
	return -1, decode
}

// valueEnd returns the index just past the value starting at b[i]; -1 if
// it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		// A literal or number runs to the next delimiter.
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
