package catalog

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Subscription key format and master key locations.
const (
	// KeyPrefix starts every subscription key, so leaked keys are easy to
	// recognise and scan for.
	KeyPrefix = "gh_"
	// KeyBytes is the number of random bytes in a key (256 bits).
	KeyBytes = 32
	// MasterKeyEnv is the environment variable that may carry the master
	// key, base64-encoded (standard or URL alphabet, padding optional).
	MasterKeyEnv = "GATEHOUSE_MASTER_KEY"
	// MasterKeyFile is the master key's file name inside the data directory.
	MasterKeyFile = "master.key"
	// MasterKeySize is the master key length: AES-256.
	MasterKeySize = 32
)

// NewKey returns a fresh subscription key: KeyPrefix followed by 256
// random bits in unpadded base64url.
func NewKey() (string, error) {
	b := make([]byte, KeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("catalog: generating key: %w", err)
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// WellFormedKey reports whether key has the shape NewKey produces.
func WellFormedKey(key string) bool {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(KeyBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// HashKey returns the lowercase hex SHA-256 of key: the lookup form stored
// in the database. Keys carry 256 random bits, so an unsalted fast hash is
// sufficient.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeySealer encrypts subscription keys (and other secrets) with AES-256-GCM
// under the master key so they can be shown again. It is safe for
// concurrent use.
type KeySealer struct {
	aead cipher.AEAD
}

// NewKeySealer returns a sealer for a MasterKeySize-byte master key.
func NewKeySealer(master []byte) (*KeySealer, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("catalog: master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeySealer{aead: aead}, nil
}

// KeyAD returns the additional data binding a sealed key to its
// subscription and slot, so a ciphertext cannot be moved to another row.
func KeyAD(subscriptionID string, slot KeySlot) []byte {
	return []byte("subscription-key\x00" + subscriptionID + "\x00" + string(slot))
}

// Seal encrypts plaintext with a random nonce; the result is nonce ||
// ciphertext || tag. ad must be presented again to Open.
func (s *KeySealer) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("catalog: generating nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, ad), nil
}

// Open decrypts what Seal produced with the same ad.
func (s *KeySealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("catalog: sealed value too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, errors.New("catalog: cannot decrypt sealed value (wrong master key or tampered data)")
	}
	return pt, nil
}

// LoadOrCreateMasterKey returns the master key. If env (the value of
// MasterKeyEnv) is non-empty it must be the base64 encoding of exactly
// MasterKeySize bytes. Otherwise the key is read from dataDir/master.key,
// which is created with mode 0600 (and dataDir with 0700) when missing. A
// key file readable or writable by group or others is refused.
func LoadOrCreateMasterKey(dataDir string, env string) ([]byte, error) {
	if env != "" {
		k, err := decodeMasterKey(env)
		if err != nil {
			return nil, fmt.Errorf("catalog: %s: %w", MasterKeyEnv, err)
		}
		return k, nil
	}
	if dataDir == "" {
		return nil, errors.New("catalog: no data directory for the master key and " + MasterKeyEnv + " is not set")
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	k, err := readMasterKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := createMasterKeyFile(dataDir, path); err != nil {
		return nil, err
	}
	return readMasterKeyFile(path)
}

func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var k []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("master key is not valid base64")
	}
	if len(k) != MasterKeySize {
		return nil, fmt.Errorf("master key must decode to %d bytes, got %d", MasterKeySize, len(k))
	}
	return k, nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("catalog: master key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("catalog: master key file %s has mode %04o and is accessible to group or others; refusing to use it (run: chmod 600 %s)", path, perm, path)
	}
	b := make([]byte, 256)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("catalog: reading master key %s: %w", path, err)
	}
	k, err := decodeMasterKey(string(b[:n]))
	if err != nil {
		return nil, fmt.Errorf("catalog: master key file %s: %w", path, err)
	}
	return k, nil
}

// createMasterKeyFile writes a new key to a temporary 0600 file, syncs it
// and links it into place, so a crash never leaves a partial key file and
// two racing processes agree on one key.
func createMasterKeyFile(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("catalog: creating data directory: %w", err)
	}
	k := make([]byte, MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("catalog: generating master key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return fmt.Errorf("catalog: creating master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("catalog: creating master key: %w", err)
	}
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("catalog: writing master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("catalog: installing master key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
