package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TransferRow is one row of a registration file: the request and the
// line it starts on.
type TransferRow struct {
	Line    int
	Request TransferRequest
}

// transferColumns are the columns a registration file may carry, by
// header name; the required ones must be there.
var transferColumns = map[string]bool{"id": true, "customer": true, "chain": true, "tx": true, "index": false,
	"counterparty": true, "asset": false, "amount": true, "direction": true, "time": false}

// ReadTransferCSV reads a registration file, the CSV form of POST
// /v1/transfers: one transfer a row, columns found by their header names
// (address is counterparty's alias), extra columns ignored. It reads the
// file whole or fails, naming path and the line; each row keeps its
// line number.
func ReadTransferCSV(in io.Reader, path string) ([]TransferRow, error) {
	r := csv.NewReader(in)
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "address" {
			h = "counterparty"
		}
		if _, known := transferColumns[h]; known {
			if _, dup := col[h]; dup {
				return nil, fmt.Errorf("%s:1: column %q twice", path, h)
			}
			col[h] = i
		}
	}
	for name, required := range transferColumns {
		if _, ok := col[name]; required && !ok {
			return nil, fmt.Errorf("%s:1: no %q column (want id, customer, chain, tx, counterparty, amount, direction; index, asset, time optional)", path, name)
		}
	}
	var out []TransferRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		req := TransferRequest{ID: get("id"), Customer: get("customer"), Chain: get("chain"), Tx: get("tx"),
			Counterparty: get("counterparty"), Asset: get("asset"), Amount: get("amount"), Direction: get("direction"), Time: get("time")}
		if s := get("index"); s != "" {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: index %q: want a non-negative integer", path, line, s)
			}
			i := uint32(v)
			req.Index = &i
		}
		out = append(out, TransferRow{Line: line, Request: req})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no transfers", path)
	}
	return out, nil
}
