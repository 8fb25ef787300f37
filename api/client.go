package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
	"github.com/tracehound/tracehound/watch"
)

// Client calls a running node's API with an API key: the command line
// uses it for what must go through a running node, whose store it cannot
// open.
type Client struct {
	base string
	key  string
	hc   *http.Client
}

// NewClient returns a client of the node at base (http://host:port); hc
// nil is http.DefaultClient.
func NewClient(base, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), key: key, hc: hc}
}

// ClientError is an error the node answered with.
type ClientError struct {
	Status  int
	Code    string
	Message string
}

func (e *ClientError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a JSON request and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doStatus(ctx, method, path, in, out)
	return err
}

// doStatus is do, returning the answer's status code too.
func (c *Client) doStatus(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, responseError(resp)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %w", method, c.base+path, resp.Status, err)
	}
	return resp.StatusCode, nil
}

// Screen screens addresses through POST /v1/screen.
func (c *Client) Screen(ctx context.Context, qs []screen.Query) ([]screen.Result, error) {
	var r screenResponse
	if err := c.do(ctx, http.MethodPost, "/v1/screen", map[string]any{"addresses": qs}, &r); err != nil {
		return nil, err
	}
	return r.Results, nil
}

// upload sends a file's content as the raw body of a POST, named by the
// name query parameter, and decodes the JSON answer into out.
func (c *Client) upload(ctx context.Context, path, name string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path+"?name="+url.QueryEscape(name), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/octet-stream")
	return c.send(req, out)
}

// send sends req and decodes a JSON answer into out, or the node's error.
func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return responseError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: %s: %w", req.Method, req.URL.Redacted(), resp.Status, err)
	}
	return nil
}

// responseError reads the node's error answer.
func responseError(resp *http.Response) error {
	var e errorBody
	if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code == "" {
		return &ClientError{Status: resp.StatusCode, Code: "http", Message: resp.Status}
	}
	return &ClientError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
}

// isNotFound tells whether err is the node's 404.
func isNotFound(err error) bool {
	var ce *ClientError
	return errors.As(err, &ce) && ce.Status == http.StatusNotFound
}

// ImportSanctions uploads a sanctions list file (SDN advanced XML, plain
// or .bz2) through POST /v1/admin/sanctions; name is the file's name,
// which tells its format. Needs the admin role.
func (c *Client) ImportSanctions(ctx context.Context, name string, body io.Reader) (sanctions.ImportResult, error) {
	var r sanctions.ImportResult
	err := c.upload(ctx, "/v1/admin/sanctions", name, body, &r)
	return r, err
}

// ImportTags uploads one TagPack (.yaml) or label (.json) file through
// POST /v1/admin/tags; name is the file's name, which names its pack: a
// file imported again replaces its tags. Needs the admin role.
func (c *Client) ImportTags(ctx context.Context, name string, body io.Reader) (tags.Report, error) {
	var r tags.Report
	err := c.upload(ctx, "/v1/admin/tags", name, body, &r)
	return r, err
}

// Trace runs a forward trace through POST /v1/traces.
func (c *Client) Trace(ctx context.Context, spec trace.Spec) (*trace.Result, error) {
	spec.Direction = ""
	var r trace.Result
	if err := c.do(ctx, http.MethodPost, "/v1/traces", spec, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// TraceBack runs a backward trace through POST /v1/traces.
func (c *Client) TraceBack(ctx context.Context, spec trace.Spec) (*trace.BackResult, error) {
	spec.Direction = "backward"
	var r trace.BackResult
	if err := c.do(ctx, http.MethodPost, "/v1/traces", spec, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Freeze returns the freeze requests, one per exchange, of a trace the
// node ran recently (GET /v1/traces/{id}/freeze), naming caseRef.
func (c *Client) Freeze(ctx context.Context, traceID, caseRef string) ([]report.Request, error) {
	var r struct {
		Requests []report.Request `json:"requests"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/traces/"+url.PathEscape(traceID)+"/freeze?case="+url.QueryEscape(caseRef), nil, &r)
	return r.Requests, err
}

// AddWatch saves a watch through POST /v1/watches and reads it back with
// the alerts of the endpoints its trace reaches now.
func (c *Client) AddWatch(ctx context.Context, req WatchRequest) (watch.Watch, []watch.Alert, error) {
	if err := c.do(ctx, http.MethodPost, "/v1/watches", req, nil); err != nil {
		return watch.Watch{}, nil, err
	}
	w, alerts, _, err := c.Watch(ctx, req.Name)
	return w, alerts, err
}

// Watch reads a watch and its alerts (GET /v1/watches/{name}); false if
// the node has no watch of that name.
func (c *Client) Watch(ctx context.Context, name string) (watch.Watch, []watch.Alert, bool, error) {
	var v struct {
		watch.Watch
		Alerts []watch.Alert `json:"alerts"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/watches/"+url.PathEscape(name), nil, &v)
	if isNotFound(err) {
		return watch.Watch{}, nil, false, nil
	}
	if err != nil {
		return watch.Watch{}, nil, false, err
	}
	return v.Watch, v.Alerts, true, nil
}

// Watches lists the node's watches (GET /v1/watches).
func (c *Client) Watches(ctx context.Context) ([]watch.Watch, error) {
	var r struct {
		Watches []watch.Watch `json:"watches"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/watches", nil, &r)
	return r.Watches, err
}

// DeleteWatch deletes a watch (DELETE /v1/watches/{name}); false if the
// node had none of that name.
func (c *Client) DeleteWatch(ctx context.Context, name string) (bool, error) {
	err := c.do(ctx, http.MethodDelete, "/v1/watches/"+url.PathEscape(name), nil, nil)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Cases lists the cases the key may see, most recently changed first;
// with address, those that name it (GET /v1/cases).
func (c *Client) Cases(ctx context.Context, address string) ([]cases.Summary, error) {
	var r struct {
		Cases []cases.Summary `json:"cases"`
	}
	path := "/v1/cases"
	if address != "" {
		path += "?address=" + url.QueryEscape(address)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &r)
	return r.Cases, err
}

// CreateCase opens a case (POST /v1/cases).
func (c *Client) CreateCase(ctx context.Context, n cases.NewCase) (cases.Case, error) {
	var cs cases.Case
	err := c.do(ctx, http.MethodPost, "/v1/cases", n, &cs)
	return cs, err
}

// Case reads a case (GET /v1/cases/{id}).
func (c *Client) Case(ctx context.Context, id string) (cases.Case, error) {
	var cs cases.Case
	err := c.do(ctx, http.MethodGet, casePath(id), nil, &cs)
	return cs, err
}

// UpdateCase changes a case's title, summary, TLP, keys or status
// (PATCH /v1/cases/{id}); u.Version is the version the change is based on.
func (c *Client) UpdateCase(ctx context.Context, id string, u cases.Update) (cases.Case, error) {
	var cs cases.Case
	err := c.do(ctx, http.MethodPatch, casePath(id), u, &cs)
	return cs, err
}

// AddCaseNote adds a note to a case (POST /v1/cases/{id}/notes).
func (c *Client) AddCaseNote(ctx context.Context, id, text string) (cases.Case, error) {
	return c.caseAdd(ctx, id, "notes", map[string]string{"text": text})
}

// AddCaseAddress adds an address of interest to a case, or changes its
// role, note and share flag (POST /v1/cases/{id}/addresses).
func (c *Client) AddCaseAddress(ctx context.Context, id string, in cases.AddressIn) (cases.Case, error) {
	return c.caseAdd(ctx, id, "addresses", in)
}

// AddCaseSeed adds a seed to a case (POST /v1/cases/{id}/seeds).
func (c *Client) AddCaseSeed(ctx context.Context, id string, in cases.SeedIn) (cases.Case, error) {
	return c.caseAdd(ctx, id, "seeds", in)
}

// LinkCaseWatch links a watch to a case (POST /v1/cases/{id}/watches).
func (c *Client) LinkCaseWatch(ctx context.Context, id, watch string) (cases.Case, error) {
	return c.caseAdd(ctx, id, "watches", map[string]string{"name": watch})
}

// LinkCaseAlert links an alert of the inbox to a case (POST
// /v1/cases/{id}/alerts).
func (c *Client) LinkCaseAlert(ctx context.Context, id, alertID string) (cases.Case, error) {
	return c.caseAdd(ctx, id, "alerts", map[string]string{"id": alertID})
}

func (c *Client) caseAdd(ctx context.Context, id, part string, in any) (cases.Case, error) {
	var cs cases.Case
	err := c.do(ctx, http.MethodPost, casePath(id)+"/"+part, in, &cs)
	return cs, err
}

// SaveCaseTrace runs a trace on the node and saves its request and
// result in a case as a new trace named name (POST /v1/cases/{id}/traces).
func (c *Client) SaveCaseTrace(ctx context.Context, id, name string, spec trace.Spec) (cases.Case, cases.TraceVersion, error) {
	req, err := json.Marshal(spec)
	if err != nil {
		return cases.Case{}, cases.TraceVersion{}, err
	}
	var r struct {
		Case    cases.Case         `json:"case"`
		Version cases.TraceVersion `json:"version"`
	}
	err = c.do(ctx, http.MethodPost, casePath(id)+"/traces", map[string]any{"name": name, "request": json.RawMessage(req)}, &r)
	return r.Case, r.Version, err
}

// DraftCaseFreeze drafts a freeze request in a case (POST
// /v1/cases/{id}/freezes).
func (c *Client) DraftCaseFreeze(ctx context.Context, id string, d cases.FreezeDraft) (cases.Case, cases.Freeze, error) {
	var r struct {
		Case   cases.Case   `json:"case"`
		Freeze cases.Freeze `json:"freeze"`
	}
	err := c.do(ctx, http.MethodPost, casePath(id)+"/freezes", d, &r)
	return r.Case, r.Freeze, err
}

// MoveCaseFreeze moves a freeze request on: sent, acknowledged, frozen
// (with the amount), released (PATCH /v1/cases/{id}/freezes/{freeze}).
func (c *Client) MoveCaseFreeze(ctx context.Context, id, freezeID string, m cases.FreezeMove) (cases.Case, cases.Freeze, error) {
	var r struct {
		Case   cases.Case   `json:"case"`
		Freeze cases.Freeze `json:"freeze"`
	}
	err := c.do(ctx, http.MethodPatch, casePath(id)+"/freezes/"+url.PathEscape(freezeID), m, &r)
	return r.Case, r.Freeze, err
}

// CaseTimeline returns a case's audit entries (GET /v1/cases/{id}/timeline).
func (c *Client) CaseTimeline(ctx context.Context, id string) ([]audit.Entry, error) {
	var r struct {
		Timeline []audit.Entry `json:"timeline"`
	}
	err := c.do(ctx, http.MethodGet, casePath(id)+"/timeline", nil, &r)
	return r.Timeline, err
}

// CaseReport writes a case's report, "html" or "pdf", to w (GET
// /v1/cases/{id}/report); the export is audited by the node.
func (c *Client) CaseReport(ctx context.Context, id, format string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+casePath(id)+"/report?format="+url.QueryEscape(format), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return responseError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	return nil
}

// AttachToCase attaches a file to a case (POST /v1/cases/{id}/attachments).
func (c *Client) AttachToCase(ctx context.Context, id, name string, body io.Reader) (cases.Case, cases.Attachment, error) {
	var r struct {
		Case       cases.Case       `json:"case"`
		Attachment cases.Attachment `json:"attachment"`
	}
	err := c.upload(ctx, casePath(id)+"/attachments", name, body, &r)
	return r.Case, r.Attachment, err
}

// PublishCase shares a case's addresses marked to share as a STIX report
// in a collection of the node (POST /v1/cases/{id}/publish); it returns
// the number of objects published.
func (c *Client) PublishCase(ctx context.Context, id, collection string) (cases.Case, int, error) {
	var r struct {
		Case    cases.Case `json:"case"`
		Objects int        `json:"objects"`
	}
	err := c.do(ctx, http.MethodPost, casePath(id)+"/publish", map[string]string{"collection": collection}, &r)
	return r.Case, r.Objects, err
}

func casePath(id string) string { return "/v1/cases/" + url.PathEscape(id) }
