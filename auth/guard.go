package auth

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Refusal is an authentication (401) or authorisation (403) failure of a
// request, for a route that answers in its own format.
type Refusal struct {
	Status  int    // http.StatusUnauthorized or http.StatusForbidden
	Code    string // "unauthenticated" or "forbidden"
	Message string
	// Role is the role the route needs.
	Role Role
}

// RouteOptions adapt authentication to routes whose clients expect other
// conventions (TAXII's error messages and HTTP Basic authentication, say).
type RouteOptions struct {
	// Refuse writes a refusal in the route's format. The
	// WWW-Authenticate header of a 401 is set already; on a 403 the
	// request's context carries the key (KeyFrom). nil leaves the answer
	// to the caller of Guard.Check.
	Refuse func(w http.ResponseWriter, r *http.Request, f Refusal)
	// Basic also accepts Authorization: Basic, whose password is the API
	// key's secret and whose user name must be the key's name.
	Basic bool
}

// Realm names the node in WWW-Authenticate challenges.
const Realm = "tracehound"

// Guard authenticates requests against a keyring and checks roles.
type Guard struct {
	Keys *Keyring
	// Sessions, if set, also authenticates browsers by their session
	// cookie when no key is presented (session.go).
	Sessions *Sessions
}

// Check authenticates r and checks that its key holds role. It returns
// the request carrying the key (KeyFrom), and a refusal if r may not go
// on: a 401 (with its WWW-Authenticate challenges set on w) when no known
// key was presented, a 403, whose request carries the key, when the key
// lacks the role.
func (g *Guard) Check(w http.ResponseWriter, r *http.Request, basic bool, role Role) (*http.Request, *Refusal) {
	r, f := g.authenticate(w, r, basic, role)
	if f != nil {
		return r, f
	}
	if k := KeyFrom(r.Context()); !k.Has(role) {
		return r, &Refusal{Status: http.StatusForbidden, Code: "forbidden", Message: "this key lacks the " + string(role) + " role", Role: role}
	}
	return r, nil
}

// authenticate finds the key of r, from its credentials or its session
// cookie; role only goes into a refusal.
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request, basic bool, role Role) (*http.Request, *Refusal) {
	c := readCredentials(r, basic)
	if c.secret == "" && g.Sessions != nil {
		if id := SessionID(r); id != "" {
			r, f := g.checkSession(w, r, id)
			if f != nil {
				f.Role = role
			}
			return r, f
		}
	}
	if c.secret == "" {
		challenge(w, basic, "")
		want := "an API key is required: Authorization: Bearer <key> or X-API-Key"
		if basic {
			want = "an API key is required: Authorization: Bearer <key>, X-API-Key, or Basic with the key's name as user name and the key as password"
		}
		return r, &Refusal{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: want, Role: role}
	}
	k, ok := g.Keys.Authenticate(c.secret)
	// The user name of Basic must name the key too, compared in constant
	// time: it is checked only once the secret matched, so a user name
	// alone proves nothing.
	if ok && c.basic && subtle.ConstantTimeCompare([]byte(c.user), []byte(k.Name)) != 1 {
		ok = false
	}
	if !ok {
		challenge(w, basic, `error="invalid_token"`)
		msg := "unknown or revoked API key"
		if c.basic {
			msg = "unknown or revoked API key, or a user name that is not the key's name"
		}
		return r, &Refusal{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: msg, Role: role}
	}
	return r.WithContext(WithKey(r.Context(), k)), nil
}

// challenge sets the WWW-Authenticate challenges of a 401 (RFC 9110
// section 11.6.1), with a parameter for the Bearer one.
func challenge(w http.ResponseWriter, basic bool, param string) {
	bearer := `Bearer realm="` + Realm + `"`
	if param != "" {
		bearer += ", " + param
	}
	w.Header().Set("WWW-Authenticate", bearer)
	if basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	}
}

// credentials are what a request presents to authenticate.
type credentials struct {
	secret string
	user   string // the user name of Basic
	basic  bool
}

// readCredentials reads the key from Authorization: Bearer, X-API-Key or,
// if basic, Authorization: Basic.
func readCredentials(r *http.Request, basic bool) credentials {
	if basic {
		if user, pass, ok := r.BasicAuth(); ok {
			return credentials{secret: pass, user: user, basic: true}
		}
	}
	return credentials{secret: bearer(r)}
}

// bearer reads the key from Authorization: Bearer or X-API-Key.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}
