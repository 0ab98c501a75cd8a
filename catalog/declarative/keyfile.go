package declarative

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog"
)

// ResolveKeyFiles reads the key files a document names and returns the
// document with each certificates[i].keyFile replaced by key (the file's
// text), for `gatehouse apply`: the admin API takes keys only inline, and
// never reads a file a request names. dir is the document's directory ("" when the
// document came from stdin: then any keyFile is refused).
//
// A key file must be a relative path that stays inside dir, read through
// an os.Root of dir: "..", an absolute path, or a symbolic link leading
// out of dir is refused, as is anything but a regular file or a file
// larger than catalog.MaxCertificateBody. A certificate giving both key
// and keyFile is refused. Refusals are *catalog.FieldError naming the
// field ("certificates[2].keyFile") and never quote the file.
//
// A document without keyFile is returned unchanged (changed false), and
// so is one that does not parse: the admin API then reports the problem.
// A changed document is re-encoded as YAML (JSON in, YAML out).
func ResolveKeyFiles(doc []byte, dir string) (out []byte, changed bool, err error) {
	if !bytes.Contains(doc, []byte("keyFile")) || len(doc) > MaxDocumentSize {
		return doc, false, nil
	}
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&n); err != nil || n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return doc, false, nil
	}
	root := n.Content[0]
	var certs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "certificates" {
			certs = root.Content[i+1]
		}
	}
	if certs == nil || certs.Kind != yaml.SequenceNode {
		return doc, false, nil
	}
	var r *os.Root
	for i, c := range certs.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		path := fmt.Sprintf("certificates[%d]", i)
		kf, hasKey := -1, false
		for j := 0; j+1 < len(c.Content); j += 2 {
			switch c.Content[j].Value {
			case "keyFile":
				kf = j
			case "key":
				hasKey = true
			}
		}
		if kf < 0 {
			continue
		}
		v := c.Content[kf+1]
		if hasKey {
			return nil, false, invalid(path+".keyFile", "give the key in key or in keyFile, not both")
		}
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || v.Value == "" {
			return nil, false, invalid(path+".keyFile", "must be a file name")
		}
		if dir == "" {
			return nil, false, invalid(path+".keyFile", "is relative to the document's directory, and the document came from stdin: apply it from a file, or give the key in key")
		}
		if r == nil {
			if r, err = os.OpenRoot(dir); err != nil {
				return nil, false, invalid(path+".keyFile", "cannot open the document's directory: %v", err)
			}
			defer r.Close()
		}
		key, err := readKeyFile(r, v.Value)
		if err != nil {
			return nil, false, invalid(path+".keyFile", "%q: %v", v.Value, err)
		}
		c.Content[kf].Value = "key"
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Value: key}
		changed = true
	}
	if !changed {
		return doc, false, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, false, err
	}
	if err := enc.Close(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), true, nil
}

// readKeyFile reads name (slash-separated, relative) inside r.
func readKeyFile(r *os.Root, name string) (string, error) {
	local := filepath.FromSlash(name)
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") || !filepath.IsLocal(local) {
		return "", errors.New("must be a relative path inside the document's directory")
	}
	// Stat before opening: opening a FIFO would wait for a writer.
	st, err := r.Stat(local)
	if err == nil && !st.Mode().IsRegular() {
		return "", errors.New("is not a regular file")
	}
	var f *os.File
	if err == nil {
		f, err = r.Open(local)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
			return "", errors.New("leads out of the document's directory (a symbolic link?): key files must be inside it")
		}
		if errors.Is(err, os.ErrNotExist) {
			return "", errors.New("no such file next to the document")
		}
		return "", err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("is not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, catalog.MaxCertificateBody+1))
	if err != nil {
		return "", err
	}
	if len(b) > catalog.MaxCertificateBody {
		return "", fmt.Errorf("is larger than %d KiB: not a PEM key", catalog.MaxCertificateBody>>10)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "", errors.New("is empty")
	}
	return string(b), nil
}
