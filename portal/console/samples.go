package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// KeyPlaceholder stands for the subscription key in code samples.
const KeyPlaceholder = "<your-key>"

// Samples are the call as code, the key elided as KeyPlaceholder.
type Samples struct {
	Curl   string `json:"curl"`
	Fetch  string `json:"fetch"`
	Python string `json:"python"`
	Go     string `json:"go"`
}

type sampleHeader struct{ name, value string }

// MakeSamples writes the call in four languages. Every string from the
// developer (URL, header names and values, body) goes through that
// language's own quoting: POSIX shell single quotes, JSON string literals
// (valid JavaScript and Python literals: the encoder escapes quotes,
// backslashes, control characters and U+2028/U+2029), Go's strconv.Quote.
func MakeSamples(method, url string, h http.Header, keyHeader, body string) Samples {
	hs := make([]sampleHeader, 0, len(h)+1)
	hs = append(hs, sampleHeader{keyHeader, KeyPlaceholder})
	names := make([]string, 0, len(h))
	for k := range h {
		if !strings.EqualFold(k, keyHeader) && !strings.EqualFold(k, TraceHeader) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			hs = append(hs, sampleHeader{k, v})
		}
	}
	return Samples{
		Curl:   curlSample(method, url, hs, body),
		Fetch:  fetchSample(method, url, hs, body),
		Python: pythonSample(method, url, hs, body),
		Go:     goSample(method, url, hs, body),
	}
}

// shQuote quotes s for a POSIX shell: inside single quotes nothing is
// special but the single quote itself, written as '\”.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func curlSample(method, url string, hs []sampleHeader, body string) string {
	var b strings.Builder
	// --globoff: curl would expand {a,b} and [1-3] in the URL.
	b.WriteString("curl --globoff -X " + shQuote(method) + " " + shQuote(url))
	for _, h := range hs {
		b.WriteString(" \\\n  -H " + shQuote(h.name+": "+h.value))
	}
	if body != "" {
		if strings.IndexByte(body, 0) >= 0 {
			b.WriteString(" \\\n  --data-binary @body.bin  # the body has NUL bytes, which a shell argument cannot carry: save it as body.bin")
		} else {
			// --data-raw: a body starting with @ is not a file name.
			b.WriteString(" \\\n  --data-raw " + shQuote(body))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// jsQuote returns s as a JSON string literal, which is also a valid
// JavaScript and Python string literal.
func jsQuote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

func fetchSample(method, url string, hs []sampleHeader, body string) string {
	var b strings.Builder
	b.WriteString("const response = await fetch(" + jsQuote(url) + ", {\n")
	b.WriteString("  method: " + jsQuote(method) + ",\n")
	b.WriteString("  headers: [\n")
	for _, h := range hs {
		b.WriteString("    [" + jsQuote(h.name) + ", " + jsQuote(h.value) + "],\n")
	}
	b.WriteString("  ],\n")
	if body != "" {
		b.WriteString("  body: " + jsQuote(body) + ",\n")
	}
	b.WriteString("});\n")
	b.WriteString("console.log(response.status, await response.text());\n")
	return b.String()
}

func pythonSample(method, url string, hs []sampleHeader, body string) string {
	var b strings.Builder
	b.WriteString("import requests\n\n")
	b.WriteString("response = requests.request(\n")
	b.WriteString("    " + jsQuote(method) + ",\n")
	b.WriteString("    " + jsQuote(url) + ",\n")
	b.WriteString("    headers={\n")
	seen := map[string]bool{}
	for _, h := range hs {
		// a dict holds one value per name: repeated headers are joined
		// with ", " (RFC 9110 5.3).
		if seen[strings.ToLower(h.name)] {
			continue
		}
		seen[strings.ToLower(h.name)] = true
		b.WriteString("        " + jsQuote(h.name) + ": " + jsQuote(joinValues(hs, h.name)) + ",\n")
	}
	b.WriteString("    },\n")
	if body != "" {
		b.WriteString("    data=" + jsQuote(body) + ".encode(\"utf-8\"),\n")
	}
	b.WriteString(")\n")
	b.WriteString("print(response.status_code, response.text)\n")
	return b.String()
}

func joinValues(hs []sampleHeader, name string) string {
	var vs []string
	for _, h := range hs {
		if strings.EqualFold(h.name, name) {
			vs = append(vs, h.value)
		}
	}
	return strings.Join(vs, ", ")
}

func goSample(method, url string, hs []sampleHeader, body string) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"net/http\"\n")
	if body != "" {
		b.WriteString("\t\"strings\"\n")
	}
	b.WriteString(")\n\nfunc main() {\n")
	bodyExpr := "nil"
	if body != "" {
		bodyExpr = "strings.NewReader(" + strconv.Quote(body) + ")"
	}
	b.WriteString("\treq, err := http.NewRequest(" + strconv.Quote(method) + ", " + strconv.Quote(url) + ", " + bodyExpr + ")\n")
	b.WriteString("\tif err != nil {\n\t\tpanic(err)\n\t}\n")
	for _, h := range hs {
		b.WriteString("\treq.Header.Add(" + strconv.Quote(h.name) + ", " + strconv.Quote(h.value) + ")\n")
	}
	b.WriteString("\tresp, err := http.DefaultClient.Do(req)\n")
	b.WriteString("\tif err != nil {\n\t\tpanic(err)\n\t}\n")
	b.WriteString("\tdefer resp.Body.Close()\n")
	b.WriteString("\tb, err := io.ReadAll(resp.Body)\n")
	b.WriteString("\tif err != nil {\n\t\tpanic(err)\n\t}\n")
	b.WriteString("\tfmt.Println(resp.Status)\n\tfmt.Println(string(b))\n}\n")
	return b.String()
}
