package embedded

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/manifest"
)

// schemas holds the config JSON Schema (draft 2020-12) of every built-in
// policy, schemas/<policy>.json. They are derived from the policies' config
// parsers (plugins/<policy>/, plugins/internal/conf) and tested against them
// (crosscheck_test.go). Where a rule cannot be expressed they are looser:
// the guest still checks a config when it builds the policy, and a few
// checks (IP families, the 8 KiB query of set-query-parameter, PEM and
// base64 contents, lengths in bytes) are only done there; see each schema's
// $comment. They are stricter than encoding/json in two ways only: a JSON
// null is refused where the parser takes it as an absent field, and field
// names must match exactly where encoding/json ignores their case.
//
//go:embed schemas/*.json
var schemas embed.FS

// Policies returns the manifests of the built-in policies, sorted by name:
// each with the built-in module's version (without build metadata), the
// description and the config schema of schemas/<name>.json.
func Policies() []manifest.Policy {
	entries, err := schemas.ReadDir("schemas")
	if err != nil {
		panic(err) // the directory is embedded: it is always there
	}
	var out []manifest.Policy
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := schemas.ReadFile(path.Join("schemas", e.Name()))
		if err != nil {
			panic(err)
		}
		var s struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			// The tests compile every schema; this cannot happen in a
			// tested build.
			panic(fmt.Sprintf("plugins/embedded: schemas/%s: %v", e.Name(), err))
		}
		out = append(out, manifest.Policy{
			Name:         name,
			Version:      version,
			Description:  s.Description,
			ConfigSchema: json.RawMessage(b),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Manifest returns the manifest of the built-in module: ABI major version,
// its policies with their config schemas, no capabilities list and zero
// (host default) limits.
func Manifest() manifest.Module {
	return manifest.Module{ABIVersion: abi.Major, Policies: Policies()}
}
