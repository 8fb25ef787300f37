package taxii

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/auth"
)

// Roles a key needs for the TAXII endpoints; which collections it may
// then read or write is up to each collection's access lists.
const (
	RoleRead  = auth.RoleTAXIIRead  // every GET
	RoleWrite = auth.RoleTAXIIWrite // adding and deleting objects
)

// Defaults of Config.
const (
	DefaultAPIRoot          = "tracehound"
	DefaultPageSize         = 1000
	DefaultMaxPageSize      = 50_000
	DefaultMaxContentLength = 100 << 20
	DefaultStatusRetention  = 24 * time.Hour
	DefaultStatusLimit      = 10_000
	DefaultStatusDetails    = 1000
	DefaultStatusMaxBytes   = 64 << 20
	DefaultMaxClockSkew     = 5 * time.Minute
)

// Config sets up a Server.
type Config struct {
	Store Store
	// Policy decides which objects a partner may receive; nil is
	// TLPPolicy{}.
	Policy Policy
	// Auditor records served objects and denials; nil records nothing.
	Auditor Auditor
	// Title, Description and Contact describe the server in discovery.
	Title       string
	Description string
	Contact     string
	// APIRoot names the one API root, served at /taxii2/<APIRoot>/.
	APIRoot string
	// PageSize is the limit of a page that asks for none; MaxPageSize
	// the largest a request may ask for (at least PageSize). A partner
	// pulling a large report asks for large pages, so that it takes the
	// report in one request rather than in dozens.
	PageSize    int
	MaxPageSize int
	// MaxContentLength is the largest request body, in bytes.
	MaxContentLength int64
	// StatusRetention is how long the status of an add request can be
	// read; StatusLimit is the most kept. Older statuses are deleted, so
	// that partners' requests cannot fill the store.
	StatusRetention time.Duration
	StatusLimit     int
	// StatusDetails is the most successes and the most failures a status
	// lists (each is counted all the same), and StatusMaxBytes the most
	// bytes all statuses may take in the store, the oldest going first.
	StatusDetails  int
	StatusMaxBytes int64
	// ReadRole and WriteRole default to RoleRead and RoleWrite.
	ReadRole  auth.Role
	WriteRole auth.Role
	// Partner names the authenticated caller; the default is the name
	// of its API key (auth.KeyFrom).
	Partner func(ctx context.Context) string
	// Accept, if set, vets each object a partner adds beyond the format
	// and ownership checks; an error makes it a failure in the status,
	// with the error as the message.
	Accept func(ctx context.Context, partner string, o Object) error
	// NodeIdentity returns the id of the node's own STIX identity, or ""
	// while it has none. The server binds it to the node (LocalPartner)
	// in the store: no partner may post it or name it as creator.
	NodeIdentity func(ctx context.Context) (string, error)
	// ActsForNode reports whether the request's key writes in the node's
	// name, as the node's own analysts do: what it writes is the node's.
	// The default: the key holds auth.RoleTAXIIPublish (admin keys hold
	// every role).
	ActsForNode func(ctx context.Context) bool
	// IsAdmin reports whether the request's key may delete objects it
	// does not own; the default: the key holds auth.RoleAdmin.
	IsAdmin func(ctx context.Context) bool
	// MaxClockSkew is how far ahead of Now a version (modified, else
	// created) may be dated; later ones are refused.
	MaxClockSkew time.Duration
	// OnChange, if set, is called once after each add or delete that
	// changed a collection (a partner's request, AddObjects or
	// AddObjectsFrom), after the change is committed, so that screening
	// sees it at once. It runs on the request's goroutine: it should
	// only signal. What was added can be read back by date_added after
	// the last object seen; a delete counts in Deletions.
	OnChange func(ctx context.Context, collection string)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Handler is where a Server registers its routes: an api.Server, which
// authenticates each request and checks the role before calling h.
type Handler interface {
	HandleWith(o auth.RouteOptions, pattern string, role auth.Role, h http.HandlerFunc)
}

// Server serves one TAXII 2.1 API root.
type Server struct {
	cfg    Config
	log    *slog.Logger
	policy Policy
	audit  Auditor

	// mu serialises writes, so that date_added order is commit order
	// and each write's ownership checks see the writes before it.
	mu   sync.Mutex
	last map[string]time.Time // newest date_added per collection, once read

	markings markingLevels

	// deletions counts the deletes that changed a collection.
	deletions atomic.Uint64
}

// Deletions counts the deletes that changed a collection since the
// server was made. Additions can be followed by date_added; a reader that
// keeps a view of the collections up to date that way sees from this
// count that it must read them again.
func (s *Server) Deletions() uint64 { return s.deletions.Load() }

// New returns a server over cfg.
func New(cfg Config) *Server {
	if cfg.APIRoot == "" {
		cfg.APIRoot = DefaultAPIRoot
	}
	if cfg.Title == "" {
		cfg.Title = "tracehound TAXII server"
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = max(DefaultMaxPageSize, cfg.PageSize)
	}
	cfg.MaxPageSize = max(cfg.MaxPageSize, cfg.PageSize)
	if cfg.MaxContentLength <= 0 {
		cfg.MaxContentLength = DefaultMaxContentLength
	}
	if cfg.StatusRetention <= 0 {
		cfg.StatusRetention = DefaultStatusRetention
	}
	if cfg.StatusLimit <= 0 {
		cfg.StatusLimit = DefaultStatusLimit
	}
	if cfg.StatusDetails <= 0 {
		cfg.StatusDetails = DefaultStatusDetails
	}
	if cfg.StatusMaxBytes <= 0 {
		cfg.StatusMaxBytes = DefaultStatusMaxBytes
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.ActsForNode == nil {
		cfg.ActsForNode = actsForNode
	}
	if cfg.IsAdmin == nil {
		cfg.IsAdmin = isAdmin
	}
	if cfg.ReadRole == "" {
		cfg.ReadRole = RoleRead
	}
	if cfg.WriteRole == "" {
		cfg.WriteRole = RoleWrite
	}
	if cfg.Partner == nil {
		cfg.Partner = keyName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, policy: cfg.Policy, audit: cfg.Auditor, last: map[string]time.Time{}}
	if s.policy == nil {
		s.policy = TLPPolicy{}
	}
	if s.audit == nil {
		s.audit = nopAuditor{}
	}
	return s
}

func keyName(ctx context.Context) string {
	if k := auth.KeyFrom(ctx); k != nil {
		return k.Name
	}
	return ""
}

// StatusRetention is how long the status of an add request is kept.
func (s *Server) StatusRetention() time.Duration { return s.cfg.StatusRetention }

// RootPath is the API root's path, e.g. /taxii2/tracehound/.
func (s *Server) RootPath() string { return "/taxii2/" + s.cfg.APIRoot + "/" }

// Register adds the TAXII endpoints to h. They accept HTTP Basic
// authentication besides the API's own schemes, as TAXII 2.1 requires of
// servers, and answer refusals with TAXII error messages.
func (s *Server) Register(h Handler) {
	read, write := s.cfg.ReadRole, s.cfg.WriteRole
	o := auth.RouteOptions{Refuse: s.refuse, Basic: true}
	handle := func(pattern string, role auth.Role, f http.HandlerFunc) { h.HandleWith(o, pattern, role, f) }
	const coll = "/taxii2/{root}/collections/{collection}/"
	handle("GET /taxii2/{$}", read, s.discovery)
	handle("GET /taxii2/{root}/{$}", read, s.apiRoot)
	handle("GET /taxii2/{root}/collections/{$}", read, s.collections)
	handle("GET "+coll+"{$}", read, s.collection)
	handle("GET "+coll+"objects/{$}", read, s.getObjects)
	handle("POST "+coll+"objects/{$}", write, s.addObjects)
	handle("GET "+coll+"objects/{object}/{$}", read, s.getObject)
	handle("DELETE "+coll+"objects/{object}/{$}", write, s.deleteObject)
	handle("GET "+coll+"objects/{object}/versions/{$}", read, s.versions)
	handle("GET "+coll+"manifest/{$}", read, s.manifest)
	handle("GET /taxii2/{root}/status/{status}/{$}", read, s.status)
	// Anything else under /taxii2/ is a TAXII client's mistake: answer
	// it in TAXII's format rather than the API's.
	handle("/taxii2/", read, func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "Not found", "no TAXII endpoint "+r.Method+" "+r.URL.Path)
	})
}

// refuse answers a request the API server did not authenticate or
// authorise with a TAXII error message. A 403 comes from a known partner
// whose key lacks the route's role: it is audited as any other denial.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, f auth.Refusal) {
	title := "Unauthorized"
	if f.Status == http.StatusForbidden {
		title = "Forbidden"
		if partner := s.cfg.Partner(r.Context()); partner != "" {
			e := Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionDenied,
				Collection: r.PathValue("collection"), Resource: requested(r), Reason: "no " + string(f.Role) + " role"}
			if err := s.audit.Record(r.Context(), e); err != nil {
				s.internal(w, r, fmt.Errorf("audit denial: %w", err))
				return
			}
		}
	}
	s.fail(w, f.Status, title, f.Message)
}

// requested names the resource a request asks for, for the audit.
func requested(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/taxii2/":
		return "discovery"
	case r.PathValue("status") != "":
		return "status"
	case r.PathValue("collection") == "":
		if strings.HasSuffix(p, "/collections/") {
			return "collections"
		}
		return "api root"
	case strings.HasSuffix(p, "/manifest/"):
		return "manifest"
	case strings.HasSuffix(p, "/versions/"):
		return "versions"
	case strings.Contains(p, "/objects/"):
		return "objects"
	}
	return "collection"
}

// Error is the TAXII error message resource.
type Error struct {
	Title           string            `json:"title"`
	Description     string            `json:"description,omitempty"`
	ErrorID         string            `json:"error_id,omitempty"`
	ErrorCode       string            `json:"error_code,omitempty"`
	HTTPStatus      string            `json:"http_status,omitempty"`
	ExternalDetails string            `json:"external_details,omitempty"`
	Details         map[string]string `json:"details,omitempty"`
}

func (e *Error) Error() string {
	msg := "taxii: " + e.HTTPStatus + " " + e.Title
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// fail writes an error message resource. The error id is the request id
// the API server set, so that a partner can quote it.
func (s *Server) fail(w http.ResponseWriter, status int, title, desc string) {
	writeJSON(w, status, &Error{
		Title:       title,
		Description: desc,
		ErrorID:     w.Header().Get("X-Request-Id"),
		HTTPStatus:  strconv.Itoa(status),
	})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "taxii", "method", r.Method, "path", r.URL.Path, "err", err)
	s.fail(w, http.StatusInternalServerError, "Internal error", "the server could not complete the request")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"title":"Internal error","http_status":"500"}`)
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// acceptable reports whether an Accept header admits TAXII 2.1. No header
// admits anything (RFC 9110); a bare application/taxii+json means the
// latest version, which is 2.1.
func acceptable(header string) bool {
	if strings.TrimSpace(header) == "" {
		return true
	}
	for part := range strings.SplitSeq(header, ",") {
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
				continue
			}
		}
		switch mt {
		case "*/*", "application/*":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

// isTAXIIContent reports whether a Content-Type is TAXII 2.1.
func isTAXIIContent(header string) bool {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}

// begin does what every endpoint does first: content negotiation, the API
// root and the partner's name.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, root bool) (string, bool) {
	if !acceptable(r.Header.Get("Accept")) {
		s.fail(w, http.StatusNotAcceptable, "Not acceptable", "this server sends only "+MediaType)
		return "", false
	}
	if root && r.PathValue("root") != s.cfg.APIRoot {
		s.fail(w, http.StatusNotFound, "API root not found", "no API root "+r.PathValue("root"))
		return "", false
	}
	partner := s.cfg.Partner(r.Context())
	if partner == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="tracehound", charset="UTF-8"`)
		s.fail(w, http.StatusUnauthorized, "Unauthenticated", "no partner identity on this request")
		return "", false
	}
	// The node's own name owns the node's objects: no key may bear it.
	if partner == LocalPartner {
		s.fail(w, http.StatusForbidden, "Forbidden", "the key's name "+LocalPartner+" is reserved for the node")
		return "", false
	}
	return partner, true
}

type access int

const (
	accessAny access = iota // read or write: the collection's description
	accessRead
	accessWrite
)

// openCollection loads the request's collection and checks the partner's
// access, auditing a refusal.
func (s *Server) openCollection(w http.ResponseWriter, r *http.Request, partner string, need access, resource string) (Collection, bool) {
	ctx := r.Context()
	id := r.PathValue("collection")
	c, ok, err := s.cfg.Store.TAXIICollection(ctx, id)
	if err != nil {
		s.internal(w, r, fmt.Errorf("collection %s: %w", id, err))
		return c, false
	}
	if !ok {
		s.fail(w, http.StatusNotFound, "Collection not found", "no collection "+id)
		return c, false
	}
	var allowed bool
	var what string
	switch need {
	case accessAny:
		allowed, what = c.CanBeReadBy(partner) || c.CanBeWrittenBy(partner), "read or write"
	case accessRead:
		allowed, what = c.CanBeReadBy(partner), "read"
	case accessWrite:
		allowed, what = c.CanBeWrittenBy(partner), "write"
	}
	if allowed {
		return c, true
	}
	reason := "no " + what + " access"
	if err := s.audit.Record(ctx, Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionDenied, Collection: c.ID, Resource: resource, Reason: reason}); err != nil {
		s.internal(w, r, fmt.Errorf("audit denial: %w", err))
		return c, false
	}
	s.fail(w, http.StatusForbidden, "Forbidden", "you have "+reason+" to collection "+c.ID)
	return c, false
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.begin(w, r, false); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"title":       s.cfg.Title,
		"description": s.cfg.Description,
		"contact":     s.cfg.Contact,
		"default":     s.RootPath(),
		"api_roots":   []string{s.RootPath()},
	})
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.begin(w, r, true); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"title":              s.cfg.Title,
		"description":        s.cfg.Description,
		"versions":           []string{MediaType},
		"max_content_length": s.cfg.MaxContentLength,
	})
}

// CollectionResource is a collection as a partner sees it.
type CollectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

func resource(c Collection, partner string) CollectionResource {
	return CollectionResource{
		ID: c.ID, Title: c.Title, Description: c.Description, Alias: c.Alias,
		CanRead: c.CanBeReadBy(partner), CanWrite: c.CanBeWrittenBy(partner),
		MediaTypes: []string{StixMediaType},
	}
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	all, err := s.cfg.Store.TAXIICollections(r.Context())
	if err != nil {
		s.internal(w, r, fmt.Errorf("list collections: %w", err))
		return
	}
	// A partner sees only the collections it may use.
	var out []CollectionResource
	for _, c := range all {
		if c.CanBeReadBy(partner) || c.CanBeWrittenBy(partner) {
			out = append(out, resource(c, partner))
		}
	}
	body := map[string]any{}
	if len(out) > 0 {
		body["collections"] = out
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	c, ok := s.openCollection(w, r, partner, accessAny, "collection")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resource(c, partner))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	id := r.PathValue("status")
	st, ok, err := s.cfg.Store.TAXIIStatus(r.Context(), id)
	if err != nil {
		s.internal(w, r, fmt.Errorf("status %s: %w", id, err))
		return
	}
	// An expired status is gone even if no prune has run since.
	expired := ok && s.expired(st)
	if expired {
		if _, err := s.PruneStatuses(r.Context()); err != nil {
			s.log.ErrorContext(r.Context(), "taxii: prune statuses", "err", err)
		}
	}
	// Another partner's status is not found rather than forbidden: its
	// ids say what that partner shared.
	if !ok || expired || st.Partner != partner {
		s.fail(w, http.StatusNotFound, "Status not found", "no status "+id+" (statuses are kept "+s.cfg.StatusRetention.String()+")")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// expired reports whether a status is past the retention. A status
// stored without its creation time is as old as its request_timestamp.
func (s *Server) expired(st Status) bool {
	created := st.Created
	if created.IsZero() {
		created, _ = ParseTimestamp(st.RequestTimestamp)
	}
	return created.Before(s.cfg.Now().Add(-s.cfg.StatusRetention))
}

// PruneStatuses deletes the statuses past the retention and the oldest
// beyond the limit, and returns how many it deleted. The server prunes
// after each add request; call it now and then to delete expired
// statuses when no partner adds anything.
func (s *Server) PruneStatuses(ctx context.Context) (int, error) {
	n, err := s.cfg.Store.PruneTAXIIStatuses(ctx, s.cfg.Now().Add(-s.cfg.StatusRetention), s.cfg.StatusLimit, s.cfg.StatusMaxBytes)
	if err != nil {
		return n, fmt.Errorf("prune TAXII statuses: %w", err)
	}
	return n, nil
}

// Cursor tokens ("next") are opaque to partners: a kind byte and a time in
// nanoseconds, so that a token of one endpoint is refused by another.
const (
	tokenDateAdded byte = 1
	tokenVersion   byte = 2
)

func encodeToken(kind byte, t time.Time) string {
	var b [9]byte
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:], uint64(t.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeToken(kind byte, s string) (time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 9 || b[0] != kind {
		return time.Time{}, errors.New("next: not a token this endpoint issued")
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:]))).UTC(), nil
}
