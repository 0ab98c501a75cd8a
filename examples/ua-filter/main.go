// Command ua-filter is an example Gatehouse policy module: it blocks requests
// whose User-Agent contains a denied substring, tells the backend what kind
// of client it is talking to, and marks responses it has seen.
//
// See README.md for the config and how to build and test it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
)

// Name is the policy's name in attachments.
const Name = "ua-filter"

// Config is the policy's JSON config.
type Config struct {
	// Deny lists User-Agent substrings (case-sensitive) that are refused.
	Deny []string `json:"deny"`
	// Status is the status of the refusal; 403 by default, 400 to 599.
	Status int `json:"status"`
	// Message goes into the refusal's JSON body.
	Message string `json:"message"`
}

// uaFilter is a configured policy. It is built once per attachment and
// instance, and serves many requests, one at a time.
type uaFilter struct {
	deny   []string
	status int
	body   []byte // the refusal, encoded once
}

// New parses and checks a config.
func New(config []byte) (sdk.Policy, error) {
	c := Config{Status: 403, Message: "Forbidden: this client is not allowed."}
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config: unexpected data after the object")
	}
	if len(c.Deny) == 0 {
		return nil, errors.New(`config: "deny" must list at least one User-Agent substring`)
	}
	for i, d := range c.Deny {
		if d == "" {
			return nil, fmt.Errorf("config: deny[%d] is empty (it would match every request)", i)
		}
	}
	if c.Status < 400 || c.Status > 599 {
		return nil, fmt.Errorf("config: status %d is not an error status (400-599)", c.Status)
	}
	body, err := json.Marshal(map[string]any{"statusCode": c.Status, "message": c.Message})
	if err != nil {
		return nil, err
	}
	return &uaFilter{deny: c.Deny, status: c.Status, body: body}, nil
}

// OnRequest refuses denied clients and classifies the others.
func (p *uaFilter) OnRequest(c *sdk.Context) sdk.Action {
	ua := c.Request().Header().Get("User-Agent")
	for _, d := range p.deny {
		if strings.Contains(ua, d) {
			c.Response().Header().Set("Content-Type", "application/json")
			return c.Respond(p.status, p.body)
		}
	}
	// Set replaces any X-UA-Class the client sent itself.
	if err := c.Request().Header().Set("X-UA-Class", classify(ua)); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

// OnResponse marks the response, refusals included.
func (p *uaFilter) OnResponse(c *sdk.Context) sdk.Action {
	if err := c.Response().Header().Set("X-Policy", Name); err != nil {
		return c.Fail(err)
	}
	return sdk.Continue
}

// tools are User-Agent markers of command-line tools and HTTP libraries.
var tools = []string{
	"curl/", "Wget/", "HTTPie/", "python-requests/", "python-urllib", "aiohttp/",
	"Go-http-client/", "okhttp/", "Java/", "Apache-HttpClient/", "libwww-perl/",
	"PostmanRuntime/", "insomnia/", "axios/", "node-fetch", "undici",
}

// classify tells browsers, tools and everything else apart.
func classify(ua string) string {
	for _, t := range tools {
		if strings.Contains(ua, t) {
			return "tool"
		}
	}
	if strings.HasPrefix(ua, "Mozilla/") {
		return "browser"
	}
	return "unknown"
}

func init() { sdk.Register(Name, New) }

func main() {}
