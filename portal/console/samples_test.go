package console

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Hostile strings a developer could put in a header value, a query or a
// body: quotes of every language, shell expansions, escapes, newlines,
// template syntax, Unicode line separators.
var hostile = []string{
	`it's`, `"double"`, "back`tick`", "$(touch /tmp/pwned)", "${HOME}", `\`, `\\'`, `'\''`,
	"line1\nline2", "cr\rlf", "tab\there", "\u2028\u2029", "</script><script>alert(1)</script>",
	"{{.}} %s %d", "@/etc/passwd", "-X DELETE", "; rm -rf / #", "`+`", "é😀", "\\u0041", "\x1b[31m",
}

type sampleCall struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
}

func hostileCall(i int) (string, http.Header, string) {
	h := hostile[i%len(hostile)]
	url := "https://api.example.com/o/items/" + strconv.Itoa(i) + "?q=" + strings.ReplaceAll(h, "\n", "%0A")
	hdr := http.Header{"X-Value": {h}, "Accept": {"application/json"}}
	if strings.ContainsAny(h, "\r\n\x1b") {
		hdr = http.Header{"X-Value": {"plain"}} // header values cannot hold control characters
	}
	return url, hdr, `{"v":` + strconv.Quote(h) + `}` + h
}

// The curl sample, run by a POSIX shell with curl replaced by a function
// printing its arguments, gives back exactly the intended arguments.
func TestCurlSampleQuoting(t *testing.T) {
	for i := range hostile {
		url, hdr, body := hostileCall(i)
		s := MakeSamples("POST", url, hdr, "Ocp-Apim-Subscription-Key", body)
		script := "curl() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }\n" + s.Curl
		out, err := exec.Command("sh", "-c", script).Output()
		if err != nil {
			t.Fatalf("sh: %v\n%s", err, s.Curl)
		}
		args := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		want := []string{"--globoff", "-X", "POST", url, "-H", "Ocp-Apim-Subscription-Key: <your-key>", "-H", "Accept: application/json", "-H", "X-Value: " + hdr.Get("X-Value"), "--data-raw", body}
		if len(hdr) == 1 {
			want = append(want[:6], want[8:]...)
		}
		if strings.Join(args, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("case %d: sh got %q\nwant %q\n%s", i, args, want, s.Curl)
		}
	}
}

// The fetch samples, run by node with fetch stubbed, ask for exactly the
// intended calls (one node process for all cases).
func TestFetchSampleQuoting(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the JavaScript sample is checked only where node runs")
	}
	var script strings.Builder
	script.WriteString(`async function fetch(url, init) {
  process.stdout.write(JSON.stringify({method: init.method, url, headers: init.headers, body: init.body}) + "\n");
  return {status: 200, text: async () => ""};
}
console.log = () => {};
(async () => {
`)
	for i := range hostile {
		url, hdr, body := hostileCall(i)
		script.WriteString("{\n" + MakeSamples("PUT", url, hdr, "Ocp-Apim-Subscription-Key", body).Fetch + "}\n")
	}
	script.WriteString("})();\n")
	p := filepath.Join(t.TempDir(), "s.js")
	os.WriteFile(p, []byte(script.String()), 0o600)
	out, err := exec.Command(node, p).Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, script.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(hostile) {
		t.Fatalf("node printed %d calls, want %d", len(lines), len(hostile))
	}
	for i, l := range lines {
		url, hdr, body := hostileCall(i)
		checkCall(t, "fetch", i, []byte(l), "PUT", url, hdr, body)
	}
}

// The Python samples, run with a stub requests module, ask for exactly
// the intended calls (one interpreter for all cases).
func TestPythonSampleQuoting(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requests.py"), []byte(`import json, sys
class R:
    status_code = 200
    text = ""
def request(method, url, headers=None, data=None):
    sys.stdout.write(json.dumps({"method": method, "url": url, "headers": [[k, v] for k, v in headers.items()], "body": data.decode("utf-8") if data is not None else ""}) + "\n")
    return R()
`), 0o600)
	var script strings.Builder
	script.WriteString("print = lambda *a, **k: None\n")
	for i := range hostile {
		url, hdr, body := hostileCall(i)
		script.WriteString(MakeSamples("PATCH", url, hdr, "Ocp-Apim-Subscription-Key", body).Python)
	}
	p := filepath.Join(dir, "s.py")
	os.WriteFile(p, []byte(script.String()), 0o600)
	cmd := exec.Command(py, p)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONIOENCODING=utf-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, script.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(hostile) {
		t.Fatalf("python printed %d calls, want %d", len(lines), len(hostile))
	}
	for i, l := range lines {
		url, hdr, body := hostileCall(i)
		checkCall(t, "python", i, []byte(l), "PATCH", url, hdr, body)
	}
}

func checkCall(t *testing.T, lang string, i int, out []byte, method, url string, hdr http.Header, body string) {
	t.Helper()
	var got sampleCall
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s case %d: %v: %q", lang, i, err, out)
	}
	want := [][2]string{{"Ocp-Apim-Subscription-Key", KeyPlaceholder}}
	if len(hdr) > 1 {
		want = append(want, [2]string{"Accept", "application/json"})
	}
	want = append(want, [2]string{"X-Value", hdr.Get("X-Value")})
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got.Headers)
	if got.Method != method || got.URL != url || got.Body != body || string(wj) != string(gj) {
		t.Errorf("%s case %d: got %+v\nwant %s %s %s %q", lang, i, got, method, url, wj, body)
	}
}

// The Go sample parses, and its string literals are exactly the call's.
func TestGoSampleQuoting(t *testing.T) {
	for i := range hostile {
		url, hdr, body := hostileCall(i)
		s := MakeSamples("POST", url, hdr, "Ocp-Apim-Subscription-Key", body)
		f, err := parser.ParseFile(token.NewFileSet(), "s.go", s.Go, 0)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, s.Go)
		}
		var lits []string
		ast.Inspect(f, func(n ast.Node) bool {
			if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
				v, err := strconv.Unquote(bl.Value)
				if err != nil {
					t.Fatal(err)
				}
				lits = append(lits, v)
			}
			return true
		})
		want := []string{"fmt", "io", "net/http", "strings", "POST", url, body, "Ocp-Apim-Subscription-Key", KeyPlaceholder}
		if len(hdr) > 1 {
			want = append(want, "Accept", "application/json")
		}
		want = append(want, "X-Value", hdr.Get("X-Value"))
		if strings.Join(lits, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("case %d: literals %q\nwant %q", i, lits, want)
		}
	}
}

func TestSamplesNeverCarryTheKey(t *testing.T) {
	s := MakeSamples("GET", "https://g/x", http.Header{"Ocp-Apim-Subscription-Key": {"real-key-123"}, TraceHeader: {"tok"}}, "Ocp-Apim-Subscription-Key", "")
	for _, v := range []string{s.Curl, s.Fetch, s.Python, s.Go} {
		if strings.Contains(v, "real-key-123") || strings.Contains(v, "tok\"") || !strings.Contains(v, KeyPlaceholder) {
			t.Errorf("sample:\n%s", v)
		}
	}
}
