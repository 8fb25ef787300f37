package taxii

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/intel"
)

// URL parameters of the object endpoints.
const (
	paramAddedAfter  = "added_after"
	paramLimit       = "limit"
	paramNext        = "next"
	paramID          = "match[id]"
	paramType        = "match[type]"
	paramVersion     = "match[version]"
	paramSpecVersion = "match[spec_version]"
)

type query struct {
	filter Filter
	limit  int
	// version is the position a versions token names.
	version time.Time
	// cursor says whether added_after or next was given: an empty answer
	// then means "nothing more", not "no such object".
	cursor bool
}

// parseQuery reads the URL parameters an endpoint supports and ignores
// the others. Lists are comma-separated, and a parameter may repeat.
func (s *Server) parseQuery(r *http.Request, token byte, allowed ...string) (query, error) {
	v := r.URL.Query()
	q := query{limit: s.cfg.PageSize}
	for _, name := range allowed {
		vals := list(v[name])
		if len(vals) == 0 {
			continue
		}
		if len(vals) > 1 && (name == paramAddedAfter || name == paramLimit || name == paramNext) {
			return q, fmt.Errorf("%s: one value only", name)
		}
		switch name {
		case paramAddedAfter:
			t, err := ParseTimestamp(vals[0])
			if err != nil {
				return q, fmt.Errorf("added_after %q is not an RFC 3339 timestamp", vals[0])
			}
			q.filter.AddedAfter, q.cursor = later(q.filter.AddedAfter, t), true
		case paramLimit:
			n, err := strconv.Atoi(vals[0])
			if err != nil || n <= 0 {
				return q, fmt.Errorf("limit %q is not a positive integer", vals[0])
			}
			q.limit = min(n, s.cfg.MaxPageSize)
		case paramNext:
			t, err := decodeToken(token, vals[0])
			if err != nil {
				return q, err
			}
			q.cursor = true
			if token == tokenVersion {
				q.version = t
			} else {
				q.filter.AddedAfter = later(q.filter.AddedAfter, t)
			}
		case paramID:
			q.filter.IDs = vals
		case paramType:
			q.filter.Types = vals
		case paramVersion:
			vf, err := ParseVersionFilter(vals)
			if err != nil {
				return q, err
			}
			q.filter.Versions = vf
		case paramSpecVersion:
			q.filter.SpecVersions = vals
		}
	}
	return q, nil
}

func list(vals []string) []string {
	var out []string
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// split passes objects through the policy and the granular markings,
// returning what partner may receive of each.
func (s *Server) split(ctx context.Context, partner string, c Collection, objs []Object) (allowed []Object, withheld []string, err error) {
	allowed = make([]Object, 0, len(objs))
	for _, o := range objs {
		v, ok, err := s.decide(ctx, partner, c, o)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			allowed = append(allowed, v)
		} else {
			withheld = append(withheld, o.ID)
		}
	}
	return allowed, withheld, nil
}

// page reads up to limit objects that f selects and partner may see, in
// date_added order, reading on past withheld ones, so that neither the
// size of a page nor more says how many were withheld; more says whether
// a further one may be seen. Withheld objects after the last one served
// are left for the next page to audit.
func (s *Server) page(ctx context.Context, partner string, c Collection, f Filter, limit int) (served []Object, withheld []string, more bool, err error) {
	var pending []string // withheld since the last one served
	for {
		// One object more than the page needs tells whether there is
		// more; reading a few dozen at least keeps a reader who may see
		// little from costing one store query per object.
		p, err := s.cfg.Store.TAXIIObjects(ctx, c.ID, f, max(limit-len(served)+1, 64))
		if err != nil {
			return nil, nil, false, err
		}
		for _, o := range p.Objects {
			v, ok, err := s.decide(ctx, partner, c, o)
			if err != nil {
				return nil, nil, false, err
			}
			if !ok {
				pending = append(pending, o.ID)
				continue
			}
			if len(served) == limit {
				return served, withheld, true, nil
			}
			served = append(served, v)
			withheld, pending = append(withheld, pending...), pending[:0]
		}
		if !p.More || len(p.Objects) == 0 {
			return served, append(withheld, pending...), false, nil
		}
		f.AddedAfter = p.Objects[len(p.Objects)-1].DateAdded
	}
}

// record audits the objects about to be served and those withheld. The
// caller fails the request if it fails: nothing is sent unrecorded.
func (s *Server) record(ctx context.Context, partner string, c Collection, resource string, served []Object, withheld []string) error {
	now := s.cfg.Now().UTC()
	if len(withheld) > 0 {
		e := Event{Time: now, Partner: partner, Action: ActionWithheld, Collection: c.ID, Resource: resource, ObjectIDs: withheld, Reason: "policy"}
		if err := s.audit.Record(ctx, e); err != nil {
			return fmt.Errorf("audit withheld objects: %w", err)
		}
	}
	if len(served) > 0 {
		e := Event{Time: now, Partner: partner, Action: ActionServed, Collection: c.ID, Resource: resource, ObjectIDs: ids(served)}
		if err := s.audit.Record(ctx, e); err != nil {
			return fmt.Errorf("audit served objects: %w", err)
		}
	}
	return nil
}

func ids(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// setDateHeaders sets X-TAXII-Date-Added-First and -Last from the objects
// a response carries.
func setDateHeaders(h http.Header, objs []Object) {
	if len(objs) == 0 {
		return
	}
	first, last := objs[0].DateAdded, objs[0].DateAdded
	for _, o := range objs[1:] {
		if o.DateAdded.Before(first) {
			first = o.DateAdded
		}
		if o.DateAdded.After(last) {
			last = o.DateAdded
		}
	}
	h.Set("X-TAXII-Date-Added-First", formatDateAdded(first))
	h.Set("X-TAXII-Date-Added-Last", formatDateAdded(last))
}

// writeEnvelope writes the objects as they were received, without
// decoding them again, through a small buffer: a page of tens of
// thousands of objects is not copied into one body first. The objects go
// first, so that a client decoding as it reads handles them while the
// rest arrives.
func writeEnvelope(w http.ResponseWriter, objs []Object, more bool, next string) {
	setDateHeaders(w.Header(), objs)
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteByte('{')
	if len(objs) > 0 {
		bw.WriteString(`"objects":[`)
		for i, o := range objs {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.Write(o.Raw)
		}
		bw.WriteString("],")
	}
	bw.WriteString(`"more":`)
	bw.WriteString(strconv.FormatBool(more))
	if next != "" {
		bw.WriteString(`,"next":`)
		bw.WriteString(strconv.Quote(next))
	}
	bw.WriteByte('}')
	_ = bw.Flush()
}

type manifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type"`
}

func (s *Server) getObjects(w http.ResponseWriter, r *http.Request) { s.list(w, r, "objects") }
func (s *Server) manifest(w http.ResponseWriter, r *http.Request)   { s.list(w, r, "manifest") }

// list serves GET objects and GET manifest: one page of the collection in
// date_added order.
func (s *Server) list(w http.ResponseWriter, r *http.Request, resource string) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	c, ok := s.openCollection(w, r, partner, accessRead, resource)
	if !ok {
		return
	}
	q, err := s.parseQuery(r, tokenDateAdded, paramAddedAfter, paramLimit, paramNext, paramID, paramType, paramVersion, paramSpecVersion)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	served, withheld, more, err := s.page(r.Context(), partner, c, q.filter, q.limit)
	if err != nil {
		s.internal(w, r, fmt.Errorf("%s of %s: %w", resource, c.ID, err))
		return
	}
	if err := s.record(r.Context(), partner, c, resource, served, withheld); err != nil {
		s.internal(w, r, err)
		return
	}
	var next string
	if more {
		next = encodeToken(tokenDateAdded, served[len(served)-1].DateAdded)
	}
	if resource == "objects" {
		writeEnvelope(w, served, more, next)
		return
	}
	writeManifest(w, served, more, next)
}

func writeManifest(w http.ResponseWriter, objs []Object, more bool, next string) {
	recs := make([]manifestRecord, len(objs))
	for i, o := range objs {
		recs[i] = manifestRecord{ID: o.ID, DateAdded: formatDateAdded(o.DateAdded), Version: FormatTimestamp(o.Version), MediaType: StixMediaType}
	}
	body := struct {
		More    bool             `json:"more"`
		Next    string           `json:"next,omitempty"` // beyond the spec, as in the envelope
		Objects []manifestRecord `json:"objects,omitempty"`
	}{more, next, recs}
	setDateHeaders(w.Header(), objs)
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	c, ok := s.openCollection(w, r, partner, accessRead, "objects")
	if !ok {
		return
	}
	q, err := s.parseQuery(r, tokenDateAdded, paramAddedAfter, paramLimit, paramNext, paramVersion, paramSpecVersion)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	id := r.PathValue("object")
	q.filter.IDs = []string{id}
	served, withheld, more, err := s.page(r.Context(), partner, c, q.filter, q.limit)
	if err != nil {
		s.internal(w, r, fmt.Errorf("object %s in %s: %w", id, c.ID, err))
		return
	}
	if err := s.record(r.Context(), partner, c, "objects", served, withheld); err != nil {
		s.internal(w, r, err)
		return
	}
	// Withheld and absent look alike.
	if len(served) == 0 && !q.cursor {
		s.objectNotFound(w, c)
		return
	}
	var next string
	if more {
		next = encodeToken(tokenDateAdded, served[len(served)-1].DateAdded)
	}
	writeEnvelope(w, served, more, next)
}

// objectNotFound answers for an object that does not exist and for one
// the partner may not see alike, to the byte: the difference would tell
// that a hidden id exists.
func (s *Server) objectNotFound(w http.ResponseWriter, c Collection) {
	s.fail(w, http.StatusNotFound, "Object not found", "no such object in collection "+c.ID)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	c, ok := s.openCollection(w, r, partner, accessRead, "versions")
	if !ok {
		return
	}
	q, err := s.parseQuery(r, tokenVersion, paramAddedAfter, paramLimit, paramNext, paramSpecVersion)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	id := r.PathValue("object")
	all, err := s.cfg.Store.TAXIIVersions(r.Context(), c.ID, id)
	if err != nil {
		s.internal(w, r, fmt.Errorf("versions of %s in %s: %w", id, c.ID, err))
		return
	}
	var cand []Object
	for _, o := range all {
		if o.DateAdded.After(q.filter.AddedAfter) && q.filter.MatchObject(&o) && (q.version.IsZero() || o.Version.After(q.version)) {
			cand = append(cand, o)
		}
	}
	served, withheld, err := s.split(r.Context(), partner, c, cand)
	if err != nil {
		s.internal(w, r, fmt.Errorf("versions of %s in %s: %w", id, c.ID, err))
		return
	}
	more := len(served) > q.limit
	if more {
		served = served[:q.limit]
	}
	if err := s.record(r.Context(), partner, c, "versions", served, withheld); err != nil {
		s.internal(w, r, err)
		return
	}
	if len(served) == 0 && !q.cursor {
		s.objectNotFound(w, c)
		return
	}
	body := struct {
		More     bool     `json:"more"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}{More: more}
	for _, o := range served {
		body.Versions = append(body.Versions, FormatTimestamp(o.Version))
	}
	if more {
		body.Next = encodeToken(tokenVersion, served[len(served)-1].Version)
	}
	setDateHeaders(w.Header(), served)
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	c, ok := s.openCollection(w, r, partner, accessWrite, "objects")
	if !ok {
		return
	}
	q, err := s.parseQuery(r, tokenDateAdded, paramVersion, paramSpecVersion)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad query", err.Error())
		return
	}
	id := r.PathValue("object")
	ctx := r.Context()
	vs, err := s.cfg.Store.TAXIIVersions(ctx, c.ID, id)
	if err != nil {
		s.internal(w, r, fmt.Errorf("delete %s from %s: %w", id, c.ID, err))
		return
	}
	if len(vs) == 0 {
		s.objectNotFound(w, c)
		return
	}
	if ok, err := s.mayDelete(ctx, w, partner, c, vs); err != nil {
		s.internal(w, r, fmt.Errorf("delete %s from %s: %w", id, c.ID, err))
		return
	} else if !ok {
		return
	}
	s.mu.Lock()
	n, err := s.cfg.Store.DeleteTAXIIObjects(ctx, c.ID, id, q.filter)
	s.mu.Unlock()
	if err != nil {
		s.internal(w, r, fmt.Errorf("delete %s from %s: %w", id, c.ID, err))
		return
	}
	if n == 0 {
		s.objectNotFound(w, c)
		return
	}
	if vs[0].Type == intel.TypeMarkingDefinition {
		s.markings.forget()
	}
	s.deletions.Add(1)
	e := Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionDeleted, Collection: c.ID, Resource: "objects", ObjectIDs: []string{id}, Reason: strconv.Itoa(n) + " versions"}
	if err := s.audit.Record(ctx, e); err != nil {
		s.internal(w, r, fmt.Errorf("audit delete: %w", err))
		return
	}
	s.changed(ctx, c.ID)
	w.WriteHeader(http.StatusOK)
}

// mayDelete reports whether partner may delete an object (its versions
// vs): its owner and administrators may. Anyone else is refused, and
// audited, with a 404 if it cannot see a version of the object, as if it
// did not exist, and a 403 if it can.
func (s *Server) mayDelete(ctx context.Context, w http.ResponseWriter, partner string, c Collection, vs []Object) (bool, error) {
	if s.cfg.IsAdmin(ctx) {
		return true, nil
	}
	id := vs[0].ID
	owners, err := s.cfg.Store.TAXIIOwners(ctx, []string{id})
	if err != nil {
		return false, err
	}
	own, ok := owners[ownerKey(id)]
	if !ok && !fixedTLP(vs[0]) {
		own, ok = Ownership{Owner: LocalPartner}, true // stored before owners were kept
	}
	if ok && own.Owner == s.principal(ctx, partner) {
		return true, nil
	}
	visible := false
	for _, o := range vs {
		if _, ok, err := s.decide(ctx, partner, c, o); err != nil {
			return false, err
		} else if ok {
			visible = true
			break
		}
	}
	e := Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionDenied, Collection: c.ID, Resource: "objects", ObjectIDs: []string{id}, Reason: "delete: not the owner"}
	if err := s.audit.Record(ctx, e); err != nil {
		return false, fmt.Errorf("audit denial: %w", err)
	}
	if !visible {
		s.objectNotFound(w, c)
	} else {
		s.fail(w, http.StatusForbidden, "Forbidden", "only the partner that wrote an object, or an administrator, may delete it")
	}
	return false, nil
}

// envelope is the body of an add request; a STIX bundle reads the same.
type envelope struct {
	Objects []json.RawMessage `json:"objects"`
}

func (s *Server) addObjects(w http.ResponseWriter, r *http.Request) {
	partner, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	if !isTAXIIContent(r.Header.Get("Content-Type")) {
		s.fail(w, http.StatusUnsupportedMediaType, "Unsupported media type", "send "+MediaType)
		return
	}
	c, ok := s.openCollection(w, r, partner, accessWrite, "objects")
	if !ok {
		return
	}
	maxLen := s.cfg.MaxContentLength
	tooLarge := "the body exceeds max_content_length, " + strconv.FormatInt(maxLen, 10) + " bytes"
	if r.ContentLength > maxLen {
		s.fail(w, http.StatusRequestEntityTooLarge, "Request too large", tooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLen))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.fail(w, http.StatusRequestEntityTooLarge, "Request too large", tooLarge)
			return
		}
		s.fail(w, http.StatusBadRequest, "Unreadable request", err.Error())
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		s.fail(w, http.StatusBadRequest, "Malformed envelope", "the body is not a TAXII envelope: "+err.Error())
		return
	}
	if len(env.Objects) == 0 {
		s.fail(w, http.StatusBadRequest, "Empty envelope", "the envelope has no objects")
		return
	}
	body = nil

	st, err := s.ingest(r.Context(), c.ID, partner, s.principal(r.Context(), partner), parseRaws(env.Objects, true), nil)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.cfg.Store.PutTAXIIStatus(r.Context(), st); err != nil {
		s.internal(w, r, fmt.Errorf("store status: %w", err))
		return
	}
	// The objects are stored and the status with them: a failed prune
	// is the operator's concern, not the partner's.
	if _, err := s.PruneStatuses(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "taxii", "err", err)
	}
	writeJSON(w, http.StatusAccepted, st)
}

// ingest validates, vets, stores and audits the objects of one add
// request by partner, written as principal, and returns its status.
// Invalid and refused objects are failures; the others are kept.
func (s *Server) ingest(ctx context.Context, collection, partner, principal string, p parsed, h *AddHooks) (Status, error) {
	now := s.cfg.Now()
	st := Status{ID: newStatusID(), Status: "complete", RequestTimestamp: formatDateAdded(now), TotalCount: len(p.objs), Partner: partner, Created: now.UTC()}
	fail := func(i int, o Object, err error) {
		id := o.ID
		if id == "" {
			id = "objects[" + strconv.Itoa(i) + "]"
		}
		st.FailureCount++
		s.note(&st.Failures, StatusDetail{ID: id, Version: versionOf(o), Message: err.Error()})
	}
	cands := make([]candidate, 0, len(p.objs))
	for i := range p.objs {
		o, err := p.objs[i], p.errs[i]
		if err == nil {
			err = s.checkClock(o, now)
		}
		if err == nil && s.cfg.Accept != nil {
			err = s.cfg.Accept(ctx, partner, o)
		}
		if err != nil {
			fail(i, o, err)
			continue
		}
		c := candidate{index: i, obj: o}
		// The node's own producers (AddObjects) relay what others made as
		// well as what it makes: they claim no identity, lest a relayed
		// creator be bound to the node.
		if partner != LocalPartner {
			c.claims = claimsOf(o, p.creators[i])
		}
		cands = append(cands, c)
	}
	p = parsed{}
	good, added, err := s.add(ctx, collection, principal, cands, fail, h)
	if err != nil {
		return Status{}, fmt.Errorf("add to %s: %w", collection, err)
	}
	for _, o := range good {
		st.SuccessCount++
		s.note(&st.Successes, StatusDetail{ID: o.ID, Version: versionOf(o)})
	}
	// One event per page's worth of ids keeps audit entries bounded
	// however large the bundle.
	summary := fmt.Sprintf("%d new, %d known, %d failed", added, len(good)-added, st.FailureCount)
	all := ids(good)
	for len(all) > 0 || summary != "" {
		chunk := all[:min(len(all), s.cfg.PageSize)]
		all = all[len(chunk):]
		e := Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionAdded, Collection: collection, Resource: "objects", ObjectIDs: chunk, Reason: summary}
		if err := s.audit.Record(ctx, e); err != nil {
			return Status{}, fmt.Errorf("audit add to %s: %w", collection, err)
		}
		summary = ""
	}
	if added > 0 {
		s.changed(ctx, collection)
	}
	return st, nil
}

// changed tells the node that a collection changed.
func (s *Server) changed(ctx context.Context, collection string) {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(ctx, collection)
	}
}

// parsed is a request's objects as parsed, with their canonical
// created_by_refs and what is wrong with each.
type parsed struct {
	objs     []Object
	creators []string
	errs     []error
}

// parseAll parses n objects with parse on every core, keeping their
// order: a large bundle is mostly JSON decoding.
func parseAll(n int, parse func(i int) (Object, string, error)) parsed {
	p := parsed{objs: make([]Object, n), creators: make([]string, n), errs: make([]error, n)}
	workers := runtime.GOMAXPROCS(0)
	if n < 256 {
		workers = 1
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += max(chunk, 1) {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				p.objs[i], p.creators[i], p.errs[i] = parse(i)
			}
		})
	}
	wg.Wait()
	return p
}

// parseRaws parses objects sent as JSON; valid says json.Unmarshal
// already read them (in an envelope).
func parseRaws(raws []json.RawMessage, valid bool) parsed {
	return parseAll(len(raws), func(i int) (Object, string, error) { return parseObject(raws[i], valid) })
}

// add vets the candidates, stamps those kept with date_added, strictly
// increasing within the collection even when the clock stands still or
// steps back, and stores them, all while holding the write lock: no
// reader paging by date_added can pass an object before it is committed,
// and each request's ownership checks see every write before it. It
// returns the objects kept and how many were new.
func (s *Server) add(ctx context.Context, collection, principal string, cands []candidate, fail func(int, Object, error), h *AddHooks) ([]Object, int, error) {
	if len(cands) == 0 {
		return nil, 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	objs, kept, err := s.vet(ctx, collection, principal, cands, fail)
	if err != nil || len(objs) == 0 {
		return nil, 0, err
	}
	if h != nil && h.Vetted != nil {
		if err := h.Vetted(kept); err != nil {
			return nil, 0, err
		}
	}
	last, ok := s.last[collection]
	if !ok {
		var err error
		if last, err = s.cfg.Store.TAXIILastAdded(ctx, collection); err != nil {
			return nil, 0, err
		}
	}
	prev := last
	for i := range objs {
		t := s.cfg.Now().UTC().Truncate(time.Microsecond)
		if !t.After(last) {
			t = last.Add(time.Microsecond)
		}
		stampUnversioned(&objs[i], t)
		last = t
	}
	n, err := s.cfg.Store.AddTAXIIObjects(ctx, collection, objs)
	if err != nil {
		// The store may hold part of the batch: read its clock again.
		delete(s.last, collection)
		return nil, 0, err
	}
	s.last[collection] = last
	s.markings.added(objs)
	if h != nil && h.Stored != nil {
		h.Stored(prev, objs)
	}
	return objs, n, nil
}

// LocalPartner is the node as a principal: the partner name audited for
// objects the node adds itself through AddObjects, and the owner of what
// it and the keys acting for it write. No key may bear the name.
const LocalPartner = "(local)"

// AddObjects adds objects to a collection as a POST would, for the node's
// own producers (such as its detections): the same validation, ownership
// rules, date_added and audit, the node owning what it writes. The status
// is returned, not stored.
func (s *Server) AddObjects(ctx context.Context, collection string, raws []json.RawMessage) (Status, error) {
	return s.AddObjectsHooks(ctx, collection, raws, AddHooks{})
}

// AddObjectsHooks is AddObjects, calling h's hooks, if set, on the
// objects kept: a node flags what it publishes in its own screening as
// it stores it, rather than reading it back.
func (s *Server) AddObjectsHooks(ctx context.Context, collection string, raws []json.RawMessage, h AddHooks) (Status, error) {
	return s.addLocal(ctx, collection, LocalPartner, func() parsed { return parseRaws(raws, false) }, &h)
}

// AddObjectsFrom adds objects the node pulled from a peer node (its
// Poller's Handle) to a collection, as peer: the peer owns what it sends
// first and is held to the rules a partner's POST is, so that a peer can
// no more revoke or rewrite the node's objects, or claim its identity,
// than a partner can. A peer and a partner of one name are one principal.
func (s *Server) AddObjectsFrom(ctx context.Context, collection, peer string, raws []json.RawMessage) (Status, error) {
	if peer == "" || peer == LocalPartner {
		return Status{}, fmt.Errorf("add to %s: %q cannot name a peer", collection, peer)
	}
	return s.addLocal(ctx, collection, peer, func() parsed { return parseRaws(raws, false) }, nil)
}

// AddPulledFrom is AddObjectsFrom for objects as a Client or Poller
// returned them: each is held to the same checks, from what the client
// decoded, without decoding its JSON again.
func (s *Server) AddPulledFrom(ctx context.Context, collection, peer string, objs []Object) (Status, error) {
	return s.AddPulledFromHooks(ctx, collection, peer, objs, AddHooks{})
}

// AddHooks let the caller of AddPulledFromHooks or AddObjectsHooks act
// on a batch between the checks and the store, under the server's write
// lock: no other write to any collection comes between the checks, the
// hooks and the commit, so what Vetted is handed is exactly what is then
// stored, held to every rule a stored object is.
type AddHooks struct {
	// Vetted receives the indexes, into the objects given, of those that
	// passed every check (validity, clock, ownership, identity claims)
	// and are about to be stored, in order; nothing is stored and its
	// error is returned if it fails. It must not write to the server.
	Vetted func(kept []int) error
	// Stored receives them once committed, stamped with their
	// date_added, and prev, the collection's last date_added before
	// them: a reader current through prev is now current through the
	// last of them if it took them in.
	Stored func(prev time.Time, stored []Object)
}

// AddPulledFromHooks is AddPulledFrom, calling h's hooks, if set, on the
// objects kept: a node flags a peer's intelligence in screening in
// Vetted, before the store, so that a large report is flagged without
// waiting for its write.
func (s *Server) AddPulledFromHooks(ctx context.Context, collection, peer string, objs []Object, h AddHooks) (Status, error) {
	if peer == "" || peer == LocalPartner {
		return Status{}, fmt.Errorf("add to %s: %q cannot name a peer", collection, peer)
	}
	return s.addLocal(ctx, collection, peer, func() parsed {
		return parseAll(len(objs), func(i int) (Object, string, error) { return reparse(objs[i]) })
	}, &h)
}

func (s *Server) addLocal(ctx context.Context, collection, principal string, parse func() parsed, h *AddHooks) (Status, error) {
	if _, ok, err := s.cfg.Store.TAXIICollection(ctx, collection); err != nil {
		return Status{}, fmt.Errorf("add to %s: %w", collection, err)
	} else if !ok {
		return Status{}, fmt.Errorf("add to %s: no such collection", collection)
	}
	return s.ingest(ctx, collection, principal, principal, parse(), h)
}

func newStatusID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
