package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/trace"
)

// Cases keeps investigations (cases.Service). Every method acts for the
// actor given: a case the actor may not see answers cases.ErrNotFound,
// as a missing one does.
type Cases interface {
	List(ctx context.Context, a cases.Actor, address string) ([]cases.Summary, error)
	Create(ctx context.Context, a cases.Actor, n cases.NewCase) (cases.Case, error)
	Get(ctx context.Context, a cases.Actor, id string) (cases.Case, error)
	Update(ctx context.Context, a cases.Actor, id string, u cases.Update) (cases.Case, error)
	AddNote(ctx context.Context, a cases.Actor, id, note string) (cases.Case, error)
	AddAddress(ctx context.Context, a cases.Actor, id string, in cases.AddressIn) (cases.Case, error)
	AddSeed(ctx context.Context, a cases.Actor, id string, in cases.SeedIn) (cases.Case, error)
	LinkAlert(ctx context.Context, a cases.Actor, id string, l cases.AlertLink) (cases.Case, error)
	LinkWatch(ctx context.Context, a cases.Actor, id, watch string) (cases.Case, error)
	SaveTrace(ctx context.Context, a cases.Actor, id, traceID, name string, request, result []byte) (cases.Case, cases.TraceVersion, error)
	TraceResult(ctx context.Context, a cases.Actor, id, traceID string, version int) (cases.TraceVersion, []byte, error)
	Attach(ctx context.Context, a cases.Actor, id, name string, data []byte) (cases.Case, cases.Attachment, error)
	Attachment(ctx context.Context, a cases.Actor, id, attID string) (cases.Attachment, []byte, error)
	DraftFreeze(ctx context.Context, a cases.Actor, id string, d cases.FreezeDraft) (cases.Case, cases.Freeze, error)
	MoveFreeze(ctx context.Context, a cases.Actor, id, freezeID string, m cases.FreezeMove) (cases.Case, cases.Freeze, error)
	Timeline(ctx context.Context, a cases.Actor, id string) ([]audit.Entry, error)
	Export(ctx context.Context, a cases.Actor, id, format string) (cases.Case, []audit.Entry, error)
	Publish(ctx context.Context, a cases.Actor, id, collection string) (cases.Case, []intel.Object, error)
	MaxAttachment() int
	MaxTraceResult() int
}

func (s *Server) casesRoutes() {
	if s.cfg.Cases == nil {
		return
	}
	r := auth.RoleTrace
	s.handle("GET /v1/cases", r, s.listCases)
	s.handle("POST /v1/cases", r, s.createCase)
	s.handle("GET /v1/cases/{id}", r, s.getCase)
	s.handle("PATCH /v1/cases/{id}", r, s.updateCase)
	s.handle("POST /v1/cases/{id}/notes", r, s.caseNote)
	s.handle("POST /v1/cases/{id}/addresses", r, s.caseAddress)
	s.handle("POST /v1/cases/{id}/seeds", r, s.caseSeed)
	s.handle("POST /v1/cases/{id}/alerts", r, s.caseAlert)
	s.handle("POST /v1/cases/{id}/watches", r, s.caseWatch)
	s.handle("POST /v1/cases/{id}/traces", r, s.caseTrace)
	s.handle("POST /v1/cases/{id}/traces/{trace}/versions", r, s.caseTrace)
	s.handle("GET /v1/cases/{id}/traces/{trace}/versions/{version}", r, s.caseTraceResult)
	s.handle("POST /v1/cases/{id}/attachments", r, s.caseAttach)
	s.handle("GET /v1/cases/{id}/attachments/{attachment}", r, s.caseAttachment)
	s.handle("POST /v1/cases/{id}/freezes", r, s.caseFreeze)
	s.handle("PATCH /v1/cases/{id}/freezes/{freeze}", r, s.caseFreezeMove)
	s.handle("GET /v1/cases/{id}/timeline", r, s.caseTimeline)
	s.handle("GET /v1/cases/{id}/report", r, s.caseReport)
	s.handle("POST /v1/cases/{id}/publish", r, s.casePublish)
}

// actor is the case actor of a request's key.
func actor(r *http.Request) cases.Actor {
	k := auth.KeyFrom(r.Context())
	if k == nil {
		return cases.Actor{}
	}
	return cases.Actor{Name: k.Name, Admin: slices.Contains(k.Roles, auth.RoleAdmin), Clearance: k.MaxTLP()}
}

// caseError answers a failure of the cases service.
func (s *Server) caseError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *cases.InputError
	switch {
	case errors.As(err, &ie):
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, cases.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", "no such case, or not one this key may see")
	case errors.Is(err, cases.ErrConflict):
		writeError(w, r, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, cases.ErrNoPublisher):
		writeError(w, r, http.StatusNotImplemented, "not_implemented", err.Error())
	default:
		s.internalError(w, r, "case", err)
	}
}

// decodeCase reads a JSON request body of at most max bytes into v.
func decodeCase(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("request body over %d bytes", max))
			return false
		}
		writeError(w, r, http.StatusBadRequest, "bad_request", "request body: "+err.Error())
		return false
	}
	return true
}

const caseBody = 1 << 20

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	l, err := s.cfg.Cases.List(r.Context(), actor(r), r.URL.Query().Get("address"))
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": l})
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	var n cases.NewCase
	if !decodeCase(w, r, caseBody, &n) {
		return
	}
	c, err := s.cfg.Cases.Create(r.Context(), actor(r), n)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/cases/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Cases.Get(r.Context(), actor(r), r.PathValue("id"))
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseAnswer(w http.ResponseWriter, r *http.Request, c cases.Case, err error) {
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) updateCase(w http.ResponseWriter, r *http.Request) {
	var u cases.Update
	if !decodeCase(w, r, caseBody, &u) {
		return
	}
	c, err := s.cfg.Cases.Update(r.Context(), actor(r), r.PathValue("id"), u)
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseNote(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Text string `json:"text"`
	}
	if !decodeCase(w, r, caseBody, &b) {
		return
	}
	c, err := s.cfg.Cases.AddNote(r.Context(), actor(r), r.PathValue("id"), b.Text)
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseAddress(w http.ResponseWriter, r *http.Request) {
	var in cases.AddressIn
	if !decodeCase(w, r, caseBody, &in) {
		return
	}
	c, err := s.cfg.Cases.AddAddress(r.Context(), actor(r), r.PathValue("id"), in)
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseSeed(w http.ResponseWriter, r *http.Request) {
	var in cases.SeedIn
	if !decodeCase(w, r, caseBody, &in) {
		return
	}
	c, err := s.cfg.Cases.AddSeed(r.Context(), actor(r), r.PathValue("id"), in)
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseAlert(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID      string `json:"id"`
		Watch   string `json:"watch"`
		Chain   string `json:"chain"`
		Address string `json:"address"`
	}
	if !decodeCase(w, r, caseBody, &in) {
		return
	}
	c, err := s.cfg.Cases.LinkAlert(r.Context(), actor(r), r.PathValue("id"), cases.AlertLink{ID: in.ID, Watch: in.Watch, Chain: chain.ParseChain(in.Chain), Address: in.Address})
	s.caseAnswer(w, r, c, err)
}

func (s *Server) caseWatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if !decodeCase(w, r, caseBody, &in) {
		return
	}
	c, err := s.cfg.Cases.LinkWatch(r.Context(), actor(r), r.PathValue("id"), in.Name)
	s.caseAnswer(w, r, c, err)
}

// caseTraceRequest saves a trace in a case: a result the client already
// has with the request that gave it, or, with no result, the request
// run now (the node's tracer) and its result saved. Posted to a trace's
// versions with neither, it reruns the trace's last request.
type caseTraceRequest struct {
	Name    string          `json:"name,omitempty"`
	Request json.RawMessage `json:"request,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

func (s *Server) caseTrace(w http.ResponseWriter, r *http.Request) {
	var in caseTraceRequest
	if !decodeCase(w, r, int64(s.cfg.Cases.MaxTraceResult())+caseBody, &in) {
		return
	}
	ctx, a, id, traceID := r.Context(), actor(r), r.PathValue("id"), r.PathValue("trace")
	if len(in.Request) == 0 {
		if traceID == "" {
			writeError(w, r, http.StatusBadRequest, "bad_request", "give the trace request, and its result or none to run it now")
			return
		}
		last, _, err := s.cfg.Cases.TraceResult(ctx, a, id, traceID, 0)
		if err != nil {
			s.caseError(w, r, err)
			return
		}
		in.Request = last.Request
	}
	if len(in.Result) == 0 {
		if s.cfg.Tracer == nil {
			writeError(w, r, http.StatusNotImplemented, "not_implemented", "this node runs no traces: send the result")
			return
		}
		// The case must be visible before the trace runs on its behalf.
		if _, err := s.cfg.Cases.Get(ctx, a, id); err != nil {
			s.caseError(w, r, err)
			return
		}
		var spec trace.Spec
		dec := json.NewDecoder(bytes.NewReader(in.Request))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: "+err.Error())
			return
		}
		req, err := s.readTrace(spec)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_request", "trace request: "+err.Error())
			return
		}
		res, err := s.trace(ctx, req)
		var ie *InputError
		switch {
		case errors.As(err, &ie):
			writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		case err != nil:
			writeError(w, r, http.StatusUnprocessableEntity, "trace_failed", err.Error())
			return
		}
		b, err := json.Marshal(res)
		if err != nil {
			s.internalError(w, r, "encode trace result", err)
			return
		}
		in.Result = b
	}
	c, v, err := s.cfg.Cases.SaveTrace(ctx, a, id, traceID, in.Name, in.Request, in.Result)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"case": c, "version": v})
}

func (s *Server) caseTraceResult(w http.ResponseWriter, r *http.Request) {
	version := 0
	if v := r.PathValue("version"); v != "latest" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, r, http.StatusBadRequest, "bad_request", "version: a number from 1, or latest")
			return
		}
		version = n
	}
	v, b, err := s.cfg.Cases.TraceResult(r.Context(), actor(r), r.PathValue("id"), r.PathValue("trace"), version)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Trace-Version", strconv.Itoa(v.Version))
	w.Header().Set("X-Content-SHA256", v.SHA256)
	_, _ = w.Write(b)
}

// caseAttach takes an attachment as the raw request body, named by the
// name query parameter, or as the "file" part of a multipart form.
func (s *Server) caseAttach(w http.ResponseWriter, r *http.Request) {
	max := int64(s.cfg.Cases.MaxAttachment())
	name := r.URL.Query().Get("name")
	var data []byte
	body := http.MaxBytesReader(w, r.Body, max+64<<10)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if mt == "multipart/form-data" {
		r.Body = body
		if err = r.ParseMultipartForm(max + 64<<10); err == nil {
			f, fh, ferr := r.FormFile("file")
			if ferr != nil {
				writeError(w, r, http.StatusBadRequest, "bad_request", "multipart upload: no file part: "+ferr.Error())
				return
			}
			defer f.Close()
			if name == "" {
				name = fh.Filename
			}
			data, err = io.ReadAll(io.LimitReader(f, max+1))
		}
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("attachments are at most %d bytes", max))
			return
		}
		writeError(w, r, http.StatusBadRequest, "bad_request", "attachment: "+err.Error())
		return
	}
	if int64(len(data)) > max {
		writeError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("attachments are at most %d bytes", max))
		return
	}
	c, at, err := s.cfg.Cases.Attach(r.Context(), actor(r), r.PathValue("id"), name, data)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"case": c, "attachment": at})
}

// caseAttachment serves an attachment as a download of the type sniffed
// when it was saved, never rendered by the browser as a page of the node.
func (s *Server) caseAttachment(w http.ResponseWriter, r *http.Request) {
	at, b, err := s.cfg.Cases.Attachment(r.Context(), actor(r), r.PathValue("id"), r.PathValue("attachment"))
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", at.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-SHA256", at.SHA256)
	http.ServeContent(w, r, "", at.Added, bytes.NewReader(b))
}

func (s *Server) caseFreeze(w http.ResponseWriter, r *http.Request) {
	var d cases.FreezeDraft
	if !decodeCase(w, r, caseBody, &d) {
		return
	}
	c, f, err := s.cfg.Cases.DraftFreeze(r.Context(), actor(r), r.PathValue("id"), d)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"case": c, "freeze": f})
}

func (s *Server) caseFreezeMove(w http.ResponseWriter, r *http.Request) {
	var m cases.FreezeMove
	if !decodeCase(w, r, caseBody, &m) {
		return
	}
	c, f, err := s.cfg.Cases.MoveFreeze(r.Context(), actor(r), r.PathValue("id"), r.PathValue("freeze"), m)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"case": c, "freeze": f})
}

func (s *Server) caseTimeline(w http.ResponseWriter, r *http.Request) {
	tl, err := s.cfg.Cases.Timeline(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"timeline": tl})
}

// caseReport exports a case as a printable HTML page or a PDF, for
// download; the export is audited.
func (s *Server) caseReport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "pdf" {
		writeError(w, r, http.StatusBadRequest, "bad_request", "format: html or pdf")
		return
	}
	c, tl, err := s.cfg.Cases.Export(r.Context(), actor(r), r.PathValue("id"), format)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	var b bytes.Buffer
	now := time.Now().UTC()
	h := w.Header()
	name := c.Reference + "-v" + strconv.Itoa(c.Version)
	if format == "pdf" {
		err = cases.WritePDF(&b, c, tl, now, nil)
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + ".pdf"}))
	} else {
		err = cases.WriteHTML(&b, c, tl, now)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", cases.ReportCSP)
		disp := "inline"
		if r.URL.Query().Get("download") != "" {
			disp = "attachment"
		}
		h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name + ".html"}))
	}
	if err != nil {
		s.internalError(w, r, "case report", err)
		return
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	_, _ = w.Write(b.Bytes())
}

func (s *Server) casePublish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Collection string `json:"collection"`
	}
	if !decodeCase(w, r, caseBody, &in) {
		return
	}
	c, objs, err := s.cfg.Cases.Publish(r.Context(), actor(r), r.PathValue("id"), in.Collection)
	if err != nil {
		s.caseError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"case": c, "objects": len(objs)})
}
