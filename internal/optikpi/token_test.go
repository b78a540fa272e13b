package optikpi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	src := NewFileToken(path)

	if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: error %v; want one naming %s", err, path)
	}

	steps := []struct {
		content string
		want    string // "" when an error is expected
	}{
		{"  secret-one\n", "secret-one"},
		{"secret-two", "secret-two"},         // same size as before after trimming? no: rewritten in place
		{"secret-2wo", "secret-2wo"},         // same size, new mtime
		{"\n\t \n", ""},                      // empty: an error that names the file
		{"secret-three\r\n", "secret-three"}, // heals
	}
	for i, s := range steps {
		if err := os.WriteFile(path, []byte(s.content), 0o600); err != nil {
			t.Fatal(err)
		}
		// A distinct mtime even on file systems with coarse timestamps.
		mt := time.Now().Add(time.Duration(i+1) * time.Second)
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
		got, err := src.Token()
		switch {
		case s.want == "" && (err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "empty")):
			t.Errorf("step %d: Token = %q, %v; want an error naming %s as empty", i, got, err, path)
		case s.want != "" && (err != nil || got != s.want):
			t.Errorf("step %d: Token = %q, %v; want %q", i, got, err, s.want)
		}
	}
}

// TestFileTokenSecretVolume rotates the token the way the kubelet updates a
// Secret volume: the file is a symlink through ..data, which is swapped to a
// new directory.
func TestFileTokenSecretVolume(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, v, "token"), []byte("token-"+v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "..data")
	if err := os.Symlink("v1", data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "token")
	if err := os.Symlink("..data/token", path); err != nil {
		t.Fatal(err)
	}
	src := NewFileToken(path)
	if got, err := src.Token(); err != nil || got != "token-v1" {
		t.Fatalf("Token = %q, %v; want token-v1", got, err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, data); err != nil {
		t.Fatal(err)
	}
	// Same size, maybe the same mtime: the swap shows as another file.
	if got, err := src.Token(); err != nil || got != "token-v2" {
		t.Errorf("after the swap Token = %q, %v; want token-v2", got, err)
	}
}

func TestEnvToken(t *testing.T) {
	const name = "OPTIKPI_RELAY_TEST_TOKEN"
	cases := []struct {
		set     bool
		value   string
		want    string
		wantErr string
	}{
		{false, "", "", "not set"},
		{true, "  ", "", "empty"},
		{true, " env-secret\n", "env-secret", ""},
	}
	for _, c := range cases {
		if c.set {
			t.Setenv(name, c.value)
		} else {
			os.Unsetenv(name)
		}
		got, err := EnvToken(name).Token()
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: Token = %q, %v; want an error naming %s, %s", c.value, got, err, name, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: Token = %q, %v; want %q", c.value, got, err, c.want)
		}
	}
}
