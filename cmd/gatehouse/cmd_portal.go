package main

import (
	"encoding/json"
	"fmt"
)

// userResetLink: gatehouse user reset-link ID.
func userResetLink(e *cmdEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	var body any
	if n := e.c.Int("ttl-minutes"); n != 0 {
		body = map[string]int{"ttlMinutes": n}
	}
	raw, err := cl.call("POST", "/users/"+pathSeg(e.args[0])+"/reset-link", nil, body)
	if err != nil {
		return err
	}
	var out struct {
		URL       string `json:"url"`
		ExpiresAt string `json:"expiresAt"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("unexpected answer: %v", err)
	}
	return e.done(raw, "%s\n(works once, until %s; give it to the user over a trusted channel)", out.URL, out.ExpiresAt)
}

// userSignout: gatehouse user signout ID.
func userSignout(e *cmdEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("DELETE", "/users/"+pathSeg(e.args[0])+"/sessions", nil, nil)
	if err != nil {
		return err
	}
	var out struct {
		Ended int `json:"ended"`
	}
	_ = json.Unmarshal(raw, &out)
	return e.done(raw, "user %s: %d portal session(s) ended", e.args[0], out.Ended)
}
