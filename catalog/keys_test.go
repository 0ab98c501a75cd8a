package catalog_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestNewKey(t *testing.T) {
	k1, err := catalog.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := catalog.NewKey()
	if k1 == k2 {
		t.Fatal("keys repeat")
	}
	if !strings.HasPrefix(k1, "gh_") || len(k1) != 3+43 || strings.ContainsAny(k1, "=+/") {
		t.Fatalf("bad key shape %q", k1)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k1[3:])
	if err != nil || len(raw) != 32 {
		t.Fatalf("key does not carry 256 bits: %v %d", err, len(raw))
	}
	if !catalog.WellFormedKey(k1) || catalog.WellFormedKey("gh_short") || catalog.WellFormedKey("xx"+k1[2:]) {
		t.Fatal("WellFormedKey")
	}
	if h := catalog.HashKey(k1); len(h) != 64 || h == catalog.HashKey(k2) {
		t.Fatalf("hash %q", h)
	}
}

func TestKeySealer(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	s, err := catalog.NewKeySealer(master)
	if err != nil {
		t.Fatal(err)
	}
	ad := catalog.KeyAD("sub1", catalog.SlotPrimary)
	c1, _ := s.Seal([]byte("secret"), ad)
	c2, _ := s.Seal([]byte("secret"), ad)
	if bytes.Equal(c1, c2) {
		t.Fatal("nonce reuse: identical ciphertexts")
	}
	if bytes.Contains(c1, []byte("secret")) {
		t.Fatal("plaintext in ciphertext")
	}
	pt, err := s.Open(c1, ad)
	if err != nil || string(pt) != "secret" {
		t.Fatal(pt, err)
	}
	if _, err := s.Open(c1, catalog.KeyAD("sub1", catalog.SlotSecondary)); err == nil {
		t.Fatal("opened with the other slot's AD")
	}
	if _, err := s.Open(c1, catalog.KeyAD("sub2", catalog.SlotPrimary)); err == nil {
		t.Fatal("opened with another subscription's AD")
	}
	other, _ := catalog.NewKeySealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(c1, ad); err == nil {
		t.Fatal("opened with another master key")
	}
	if _, err := catalog.NewKeySealer(make([]byte, 16)); err == nil {
		t.Fatal("accepted a 16-byte master key")
	}
}

func TestMasterKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := catalog.LoadOrCreateMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("len %d", len(k1))
	}
	path := filepath.Join(dir, catalog.MasterKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := catalog.LoadOrCreateMasterKey(dir, "")
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load differs: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = catalog.LoadOrCreateMasterKey(dir, "")
	if err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("0644 key accepted or unclear error: %v", err)
	}
	os.Chmod(path, 0o640)
	if _, err := catalog.LoadOrCreateMasterKey(dir, ""); err == nil {
		t.Fatal("0640 key accepted")
	}
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte("not base64!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.LoadOrCreateMasterKey(dir, ""); err == nil {
		t.Fatal("corrupt key accepted")
	}
}

func TestMasterKeyEnv(t *testing.T) {
	want := bytes.Repeat([]byte{0xab}, 32)
	dir := t.TempDir()
	got, err := catalog.LoadOrCreateMasterKey(dir, base64.StdEncoding.EncodeToString(want))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatal(got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, catalog.MasterKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("env key must not create a file: %v", err)
	}
	got, err = catalog.LoadOrCreateMasterKey("", base64.RawURLEncoding.EncodeToString(want))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatal(got, err)
	}
	for _, bad := range []string{"%%%", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := catalog.LoadOrCreateMasterKey(dir, bad); err == nil || !strings.Contains(err.Error(), catalog.MasterKeyEnv) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
