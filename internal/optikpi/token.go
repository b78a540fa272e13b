package optikpi

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
)

// FileToken is a TokenSource backed by a file, such as a mounted Kubernetes
// Secret. The token is the file's content without surrounding whitespace. The
// file is read again whenever it is replaced or its size or modification
// time changes, so a rotated Secret takes effect without a restart; between
// changes a Token call costs one stat.
type FileToken struct {
	path string

	mu    sync.Mutex
	info  os.FileInfo // of the content in token; nil before the first read
	token string
}

// NewFileToken returns a source reading path. It does not read the file yet:
// the first Token call does, and reports a missing or empty file.
func NewFileToken(path string) *FileToken { return &FileToken{path: path} }

// Token returns the file's current token. Errors name the path, never the
// content.
func (f *FileToken) Token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Stat follows symlinks, which is how a Secret volume swaps its files.
	info, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("optikpi: token file: %w", err)
	}
	if f.info != nil && sameVersion(f.info, info) {
		return f.token, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("optikpi: token file: %w", err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return "", fmt.Errorf("optikpi: token file %s is empty", f.path)
	}
	f.info, f.token = info, tok
	return tok, nil
}

// sameVersion reports whether a and b describe the same file content, as far
// as stat can tell.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// EnvToken is a TokenSource that reads the environment variable it names on
// every call.
type EnvToken string

// Token returns the variable's value without surrounding whitespace. Errors
// name the variable, never its value.
func (e EnvToken) Token() (string, error) {
	v, ok := os.LookupEnv(string(e))
	if !ok {
		return "", fmt.Errorf("optikpi: token environment variable %s is not set", string(e))
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("optikpi: token environment variable %s is empty", string(e))
	}
	return v, nil
}
