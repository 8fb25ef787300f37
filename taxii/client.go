package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to another node's TAXII 2.1 API root.
type Client struct {
	base string // scheme://host, without a trailing slash
	root string // the API root's path, with both slashes
	key  string
	user string // with a user name, the key goes as HTTP Basic's password
	hc   *http.Client
}

// NewClient returns a client for the API root apiRoot (a name such as
// "tracehound", or a path such as "/taxii2/tracehound/") at baseURL,
// authenticating with the bearer key. A nil httpClient is
// http.DefaultClient.
func NewClient(baseURL, apiRoot, key string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	root := apiRoot
	if !strings.HasPrefix(root, "/") {
		root = "/taxii2/" + root
	}
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), root: root, key: key, hc: httpClient}
}

// UseBasicAuth makes the client send its key as the password of HTTP
// Basic authentication with user as the user name, as TAXII servers that
// know only Basic expect (and tracehound nodes accept, with the key's
// name as the user name). It returns c.
func (c *Client) UseBasicAuth(user string) *Client {
	c.user = user
	return c
}

// ResponseError is a non-success answer from the partner.
type ResponseError struct {
	StatusCode int
	// TAXII is the error message resource, if the partner sent one.
	TAXII *Error
}

func (e *ResponseError) Error() string {
	msg := strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.TAXII != nil && e.TAXII.Title != "" {
		msg += ": " + e.TAXII.Title
		if e.TAXII.Description != "" {
			msg += ": " + e.TAXII.Description
		}
	}
	return msg
}

// StatusCode returns the HTTP status of a ResponseError in err's chain,
// or 0.
func StatusCode(err error) int {
	if re, ok := errors.AsType[*ResponseError](err); ok {
		return re.StatusCode
	}
	return 0
}

// maxResponse bounds what the client reads from a partner.
const maxResponse = 1 << 30

// do sends a request and returns the body of a 2xx answer.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, http.Header, error) {
	u := c.base + c.root + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("taxii %s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", MediaType)
	if body != nil {
		req.Header.Set("Content-Type", MediaType)
	}
	switch {
	case c.user != "":
		req.SetBasicAuth(c.user, c.key)
	case c.key != "":
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("taxii %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, fmt.Errorf("taxii %s %s: read response: %w", method, u, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &ResponseError{StatusCode: resp.StatusCode}
		var te Error
		if json.Unmarshal(b, &te) == nil && te.Title != "" {
			re.TAXII = &te
		}
		return nil, nil, fmt.Errorf("taxii %s %s: %w", method, u, re)
	}
	return b, resp.Header, nil
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) (http.Header, error) {
	b, h, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("taxii GET %s%s: decode response: %w", c.root, path, err)
	}
	return h, nil
}

// Collections lists the collections the partner lets this node use.
func (c *Client) Collections(ctx context.Context) ([]CollectionResource, error) {
	var body struct {
		Collections []CollectionResource `json:"collections"`
	}
	if _, err := c.getJSON(ctx, "collections/", nil, &body); err != nil {
		return nil, err
	}
	return body.Collections, nil
}

// Query selects the objects of a GET objects request.
type Query struct {
	AddedAfter time.Time
	Limit      int
	// Next continues a paginated answer; the other fields must be those
	// of the request that returned it.
	Next    string
	IDs     []string
	Types   []string
	Version string // match[version]: last, first, all or a timestamp
	// SpecVersions is match[spec_version].
	SpecVersions []string
}

// Result is one page of a GET objects answer.
type Result struct {
	// Objects are decoded without validation: what a partner sends is
	// the caller's to judge. DateAdded is zero: TAXII sends it only in
	// the headers, below.
	Objects []Object
	More    bool
	Next    string
	// DateAddedFirst and DateAddedLast are the X-TAXII-Date-Added-First
	// and -Last headers (zero if absent).
	DateAddedFirst time.Time
	DateAddedLast  time.Time
}

// Objects returns the first page of objects added after addedAfter (all
// if zero) and the token for the next page ("" when there is none):
// follow it with ObjectsPage and Query.Next.
func (c *Client) Objects(ctx context.Context, collectionID string, addedAfter time.Time, limit int) (Result, string, error) {
	res, err := c.ObjectsPage(ctx, collectionID, Query{AddedAfter: addedAfter, Limit: limit})
	return res, res.Next, err
}

// ObjectsPage returns one page of a GET objects request.
func (c *Client) ObjectsPage(ctx context.Context, collectionID string, q Query) (Result, error) {
	v := url.Values{}
	if !q.AddedAfter.IsZero() {
		v.Set(paramAddedAfter, FormatTimestamp(q.AddedAfter))
	}
	if q.Limit > 0 {
		v.Set(paramLimit, strconv.Itoa(q.Limit))
	}
	if q.Next != "" {
		v.Set(paramNext, q.Next)
	}
	if len(q.IDs) > 0 {
		v.Set(paramID, strings.Join(q.IDs, ","))
	}
	if len(q.Types) > 0 {
		v.Set(paramType, strings.Join(q.Types, ","))
	}
	if q.Version != "" {
		v.Set(paramVersion, q.Version)
	}
	if len(q.SpecVersions) > 0 {
		v.Set(paramSpecVersion, strings.Join(q.SpecVersions, ","))
	}
	var body struct {
		More    bool              `json:"more"`
		Next    string            `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	path := "collections/" + url.PathEscape(collectionID) + "/objects/"
	h, err := c.getJSON(ctx, path, v, &body)
	if err != nil {
		return Result{}, err
	}
	res := Result{More: body.More, Next: body.Next, Objects: make([]Object, 0, len(body.Objects))}
	for i, raw := range body.Objects {
		o, _, err := decodeObject(raw)
		if err != nil {
			return Result{}, fmt.Errorf("taxii GET %s%s: object %d: %w", c.root, path, i, err)
		}
		res.Objects = append(res.Objects, o)
	}
	if res.DateAddedFirst, err = headerTime(h, "X-TAXII-Date-Added-First"); err != nil {
		return Result{}, fmt.Errorf("taxii GET %s%s: %w", c.root, path, err)
	}
	if res.DateAddedLast, err = headerTime(h, "X-TAXII-Date-Added-Last"); err != nil {
		return Result{}, fmt.Errorf("taxii GET %s%s: %w", c.root, path, err)
	}
	return res, nil
}

func headerTime(h http.Header, name string) (time.Time, error) {
	v := h.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := ParseTimestamp(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("header %s %q: %w", name, v, err)
	}
	return t, nil
}

// Add sends objects to a collection and returns the partner's status.
func (c *Client) Add(ctx context.Context, collectionID string, objects []json.RawMessage) (Status, error) {
	body, err := json.Marshal(envelope{Objects: objects})
	if err != nil {
		return Status{}, fmt.Errorf("taxii add to %s: %w", collectionID, err)
	}
	b, _, err := c.do(ctx, http.MethodPost, "collections/"+url.PathEscape(collectionID)+"/objects/", nil, body)
	if err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, fmt.Errorf("taxii add to %s: decode status: %w", collectionID, err)
	}
	return st, nil
}

// Status fetches the status of an earlier Add.
func (c *Client) Status(ctx context.Context, id string) (Status, error) {
	var st Status
	_, err := c.getJSON(ctx, "status/"+url.PathEscape(id)+"/", nil, &st)
	return st, err
}
