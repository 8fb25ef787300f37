package taxii

import (
	"bufio"
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
	resp, u, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, fmt.Errorf("taxii %s %s: read response: %w", method, u, err)
	}
	return b, resp.Header, nil
}

// send sends a request and returns a 2xx answer with its body unread,
// and the URL asked; any other answer is a *ResponseError.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, string, error) {
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
		return nil, u, fmt.Errorf("taxii %s %s: %w", method, u, err)
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
		return nil, u, fmt.Errorf("taxii %s %s: %w", method, u, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		re := &ResponseError{StatusCode: resp.StatusCode}
		var te Error
		if json.Unmarshal(b, &te) == nil && te.Title != "" {
			re.TAXII = &te
		}
		return nil, u, fmt.Errorf("taxii %s %s: %w", method, u, re)
	}
	return resp, u, nil
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
	var objs []Object
	res, err := c.ObjectsStream(ctx, collectionID, q, 0, func(chunk []Object) error {
		objs = append(objs, chunk...)
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	res.Objects = objs
	if res.Objects == nil {
		res.Objects = []Object{}
	}
	return res, nil
}

// DefaultStreamChunk is how many objects ObjectsStream hands over at a
// time unless told otherwise.
const DefaultStreamChunk = 2000

// ObjectsStream makes a GET objects request and decodes the answer as it
// arrives, handing its objects to fn in order, chunk at a time (chunk <=
// 0 is DefaultStreamChunk): a page of tens of thousands of objects is
// worked on while the rest of it is still on the wire. An error from fn
// stops the request and is returned. The Result has no Objects.
func (c *Client) ObjectsStream(ctx context.Context, collectionID string, q Query, chunk int, fn func([]Object) error) (Result, error) {
	if chunk <= 0 {
		chunk = DefaultStreamChunk
	}
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
	path := "collections/" + url.PathEscape(collectionID) + "/objects/"
	resp, _, err := c.send(ctx, http.MethodGet, path, v, nil)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	var res Result
	if res.DateAddedFirst, err = headerTime(resp.Header, "X-TAXII-Date-Added-First"); err != nil {
		return Result{}, fmt.Errorf("taxii GET %s%s: %w", c.root, path, err)
	}
	if res.DateAddedLast, err = headerTime(resp.Header, "X-TAXII-Date-Added-Last"); err != nil {
		return Result{}, fmt.Errorf("taxii GET %s%s: %w", c.root, path, err)
	}
	if err := decodeEnvelope(io.LimitReader(resp.Body, maxResponse), &res, chunk, fn); err != nil {
		return Result{}, fmt.Errorf("taxii GET %s%s: %w", c.root, path, err)
	}
	return res, nil
}

// decodeEnvelope reads a TAXII envelope from r, setting more and next in
// res and handing the objects to fn chunk at a time.
func decodeEnvelope(r io.Reader, res *Result, chunk int, fn func([]Object) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	batch := make([]Object, 0, chunk)
	i := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		key, _ := t.(string)
		switch key {
		case "more":
			err = dec.Decode(&res.More)
		case "next":
			err = dec.Decode(&res.Next)
		case "objects":
			if err := expectDelim(dec, '['); err != nil {
				return fmt.Errorf("decode response: objects: %w", err)
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fmt.Errorf("decode response: object %d: %w", i, err)
				}
				o, h, err := decodeObject(raw, true)
				if err != nil {
					return fmt.Errorf("object %d: %w", i, err)
				}
				o.parsed = &h
				i++
				if batch = append(batch, o); len(batch) == chunk {
					if err := fn(batch); err != nil {
						return err
					}
					batch = make([]Object, 0, chunk)
				}
			}
			err = expectDelim(dec, ']')
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return fmt.Errorf("decode response: %s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
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
