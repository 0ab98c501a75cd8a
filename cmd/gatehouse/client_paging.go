package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/urfave/cli/v2"
)

// cliPageSize is how many items the CLI asks for per page (the admin
// API's largest page).
const cliPageSize = 1000

// limitFlag is the --limit of every "list" command: stop after that many
// items (0: all of them).
func limitFlag() cli.Flag {
	return &cli.IntFlag{Name: "limit", Usage: "print at most this many items (0: all; the CLI follows the API's pages)"}
}

// listLimit is the --limit of a list command, checked.
func (e *cmdEnv) listLimit() (int, error) {
	n := e.c.Int("limit")
	if n < 0 {
		return 0, usageError{fmt.Errorf("--limit must be 0 (all) or more, not %d", n)}
	}
	return n, nil
}

// listAll reads a list route page by page, following next, and returns
// one list answer {"items": [...]} with every item, or the first max
// (max > 0). Filters in query are sent with every page (the cursor is
// bound to them).
func (c *adminClient) listAll(path string, query url.Values, max int) ([]byte, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	var items []json.RawMessage
	for {
		size := cliPageSize
		if max > 0 {
			size = min(size, max-len(items))
		}
		q.Set("limit", strconv.Itoa(size))
		raw, err := c.call("GET", path, q, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("the admin API answered an unexpected list: %v", err)
		}
		items = append(items, page.Items...)
		if page.Next == "" || (max > 0 && len(items) >= max) {
			break
		}
		if len(page.Items) == 0 {
			return nil, fmt.Errorf("the admin API answered an empty page with a next cursor (%s)", path)
		}
		q.Set("after", page.Next)
	}
	if max > 0 && len(items) > max {
		items = items[:max]
	}
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// listPaged is cl.listAll with the command's --limit.
func (e *cmdEnv) listPaged(cl *adminClient, path string, query url.Values) ([]byte, error) {
	n, err := e.listLimit()
	if err != nil {
		return nil, err
	}
	return cl.listAll(path, query, n)
}
