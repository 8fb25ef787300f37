package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tracehound/tracehound/screen"
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
		var e errorBody
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code == "" {
			return resp.StatusCode, &ClientError{Status: resp.StatusCode, Code: "http", Message: resp.Status}
		}
		return resp.StatusCode, &ClientError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
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
