package taxii

import (
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
			q.limit = min(n, s.cfg.PageSize)
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

// split passes objects through the policy.
func (s *Server) split(ctx context.Context, partner string, c Collection, objs []Object) (allowed []Object, withheld []string) {
	allowed = make([]Object, 0, len(objs))
	for _, o := range objs {
		if s.policy.Allow(ctx, partner, c, o) {
			allowed = append(allowed, o)
		} else {
			withheld = append(withheld, o.ID)
		}
	}
	return allowed, withheld
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

// screen applies the policy and audits the outcome.
func (s *Server) screen(ctx context.Context, partner string, c Collection, resource string, objs []Object) ([]Object, error) {
	served, withheld := s.split(ctx, partner, c, objs)
	if err := s.record(ctx, partner, c, resource, served, withheld); err != nil {
		return nil, err
	}
	return served, nil
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
// decoding them again.
func writeEnvelope(w http.ResponseWriter, objs []Object, more bool, next string) {
	n := 64 + len(next)
	for _, o := range objs {
		n += len(o.Raw) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"more":`...)
	b = strconv.AppendBool(b, more)
	if next != "" {
		b = append(b, `,"next":`...)
		b = strconv.AppendQuote(b, next)
	}
	if len(objs) > 0 {
		b = append(b, `,"objects":[`...)
		for i, o := range objs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, o.Raw...)
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	setDateHeaders(w.Header(), objs)
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
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
	page, err := s.cfg.Store.TAXIIObjects(r.Context(), c.ID, q.filter, q.limit)
	if err != nil {
		s.internal(w, r, fmt.Errorf("%s of %s: %w", resource, c.ID, err))
		return
	}
	served, err := s.screen(r.Context(), partner, c, resource, page.Objects)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// The token marks the last object read, withheld or not, so that a
	// page of withheld objects does not stall the partner.
	var next string
	if page.More && len(page.Objects) > 0 {
		next = encodeToken(tokenDateAdded, page.Objects[len(page.Objects)-1].DateAdded)
	}
	if resource == "objects" {
		writeEnvelope(w, served, page.More, next)
		return
	}
	writeManifest(w, served, page.More, next)
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
	page, err := s.cfg.Store.TAXIIObjects(r.Context(), c.ID, q.filter, q.limit)
	if err != nil {
		s.internal(w, r, fmt.Errorf("object %s in %s: %w", id, c.ID, err))
		return
	}
	served, err := s.screen(r.Context(), partner, c, "objects", page.Objects)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// Withheld and absent look alike.
	if len(served) == 0 && !page.More && !q.cursor {
		s.fail(w, http.StatusNotFound, "Object not found", "no object "+id+" in collection "+c.ID)
		return
	}
	var next string
	if page.More && len(page.Objects) > 0 {
		next = encodeToken(tokenDateAdded, page.Objects[len(page.Objects)-1].DateAdded)
	}
	writeEnvelope(w, served, page.More, next)
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
	served, withheld := s.split(r.Context(), partner, c, cand)
	more := len(served) > q.limit
	if more {
		served = served[:q.limit]
	}
	if err := s.record(r.Context(), partner, c, "versions", served, withheld); err != nil {
		s.internal(w, r, err)
		return
	}
	if len(served) == 0 && !q.cursor {
		s.fail(w, http.StatusNotFound, "Object not found", "no object "+id+" in collection "+c.ID)
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
	s.mu.Lock()
	n, err := s.cfg.Store.DeleteTAXIIObjects(r.Context(), c.ID, id, q.filter)
	s.mu.Unlock()
	if err != nil {
		s.internal(w, r, fmt.Errorf("delete %s from %s: %w", id, c.ID, err))
		return
	}
	if n == 0 {
		s.fail(w, http.StatusNotFound, "Object not found", "no matching version of "+id+" in collection "+c.ID)
		return
	}
	e := Event{Time: s.cfg.Now().UTC(), Partner: partner, Action: ActionDeleted, Collection: c.ID, Resource: "objects", ObjectIDs: []string{id}, Reason: strconv.Itoa(n) + " versions"}
	if err := s.audit.Record(r.Context(), e); err != nil {
		s.internal(w, r, fmt.Errorf("audit delete: %w", err))
		return
	}
	w.WriteHeader(http.StatusOK)
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

	st, err := s.ingest(r.Context(), c.ID, partner, env.Objects)
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

// ingest validates, stores and audits the objects of one add request and
// returns its status. Invalid objects are failures; the valid ones are
// kept.
func (s *Server) ingest(ctx context.Context, collection, partner string, raws []json.RawMessage) (Status, error) {
	now := s.cfg.Now()
	st := Status{ID: newStatusID(), Status: "complete", RequestTimestamp: formatDateAdded(now), TotalCount: len(raws), Partner: partner, Created: now.UTC()}
	good := make([]Object, 0, len(raws))
	parsed, errs := parseAll(raws)
	for i := range raws {
		o, err := parsed[i], errs[i]
		if err == nil && s.cfg.Accept != nil {
			err = s.cfg.Accept(ctx, partner, o)
		}
		if err != nil {
			id := o.ID
			if id == "" {
				id = "objects[" + strconv.Itoa(i) + "]"
			}
			st.Failures = append(st.Failures, StatusDetail{ID: id, Version: versionOf(o), Message: err.Error()})
			continue
		}
		good = append(good, o)
	}
	added, err := s.add(ctx, collection, good)
	if err != nil {
		return Status{}, fmt.Errorf("add to %s: %w", collection, err)
	}
	for _, o := range good {
		st.Successes = append(st.Successes, StatusDetail{ID: o.ID, Version: versionOf(o)})
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	// One event per page's worth of ids keeps audit entries bounded
	// however large the bundle.
	summary := fmt.Sprintf("%d new, %d known, %d failed", added, len(good)-added, len(st.Failures))
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
	return st, nil
}

// parseAll parses objects on every core, keeping their order: a large
// bundle is mostly JSON decoding.
func parseAll(raws []json.RawMessage) ([]Object, []error) {
	objs, errs := make([]Object, len(raws)), make([]error, len(raws))
	workers := runtime.GOMAXPROCS(0)
	if len(raws) < 256 {
		workers = 1
	}
	chunk := (len(raws) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(raws); lo += max(chunk, 1) {
		hi := min(lo+chunk, len(raws))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				objs[i], errs[i] = ParseObject(raws[i])
			}
		})
	}
	wg.Wait()
	return objs, errs
}

// add stamps objects with date_added, strictly increasing within the
// collection even when the clock stands still or steps back, and stores
// them while holding the write lock, so that no reader paging by
// date_added can pass an object before it is committed.
func (s *Server) add(ctx context.Context, collection string, objs []Object) (int, error) {
	if len(objs) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.last[collection]
	if !ok {
		var err error
		if last, err = s.cfg.Store.TAXIILastAdded(ctx, collection); err != nil {
			return 0, err
		}
	}
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
		return 0, err
	}
	s.last[collection] = last
	return n, nil
}

// LocalPartner is the partner name audited for objects the node adds
// itself through AddObjects.
const LocalPartner = "(local)"

// AddObjects adds objects to a collection as a POST would, for the node's
// own producers (such as its detections): the same validation, date_added
// and audit. The status is returned, not stored.
func (s *Server) AddObjects(ctx context.Context, collection string, raws []json.RawMessage) (Status, error) {
	if _, ok, err := s.cfg.Store.TAXIICollection(ctx, collection); err != nil {
		return Status{}, fmt.Errorf("add to %s: %w", collection, err)
	} else if !ok {
		return Status{}, fmt.Errorf("add to %s: no such collection", collection)
	}
	return s.ingest(ctx, collection, LocalPartner, raws)
}

func newStatusID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
