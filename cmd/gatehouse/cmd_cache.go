package main

import (
	"encoding/json"
	"errors"

	"github.com/urfave/cli/v2"
)

// cacheCommand is `gatehouse cache purge --api ID | --url URL`: remove
// stored responses from the running gateway's response cache
// (POST /cache/purge).
func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "manage the gateway's response cache",
		Subcommands: []*cli.Command{
			leaf("purge", "remove stored responses: every one of an API (--api), or of a URL, all queries and variants (--url)", "", []cli.Flag{
				&cli.StringFlag{Name: "api", Usage: "an API ID"},
				&cli.StringFlag{Name: "url", Usage: "an absolute URL as clients call it, e.g. https://api.example.com/pets/1"},
			}, cachePurge),
		},
	}
}

func cachePurge(e *cmdEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	api, u := e.c.String("api"), e.c.String("url")
	switch {
	case api == "" && u == "":
		return usageError{errors.New("cache purge: give --api ID or --url URL")}
	case api != "" && u != "":
		return usageError{errors.New("cache purge: give --api or --url, not both")}
	}
	body := map[string]any{}
	if api != "" {
		body["api"] = api
	} else {
		body["url"] = u
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("POST", "/cache/purge", nil, body)
	if err != nil {
		return err
	}
	var out struct {
		Purged int `json:"purged"`
	}
	_ = json.Unmarshal(raw, &out)
	return e.done(raw, "purged %d cache entries", out.Purged)
}
