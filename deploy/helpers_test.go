package deploy

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// testKey is an ed25519 key pair in the forms Params takes.
type testKey struct {
	private string // OpenSSH PEM
	public  string // authorized_keys line, with comment
}

func mustKey(tb testing.TB, comment string) testKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		tb.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if comment != "" {
		line += " " + comment
	}
	return testKey{private: string(pem.EncodeToMemory(block)), public: line}
}

// mustParams returns valid Params for emma. The hash has bcrypt's minimum
// cost to keep the tests fast; HashPassword's cost is tested on its own.
func mustParams(tb testing.TB) Params {
	tb.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	host := mustKey(tb, "root@cicf-bot")
	return Params{
		Name:              "emma",
		FQDN:              "emma.cicf.cloud",
		StudentKey:        mustKey(tb, "emma@laptop").public,
		BotKey:            mustKey(tb, "cicf-bot").public,
		HostKeyPrivate:    host.private,
		HostKeyPublic:     host.public,
		CaddyPasswordHash: string(hash),
	}
}

func mustRender(tb testing.TB, p Params) *Payload {
	tb.Helper()
	pl, err := Render(p)
	if err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return pl
}

// payloadFile returns the payload file placed at vmPath.
func payloadFile(tb testing.TB, pl *Payload, vmPath string) File {
	tb.Helper()
	for _, f := range pl.Files {
		if f.Path == vmPath {
			return f
		}
	}
	tb.Fatalf("payload has no file %s", vmPath)
	return File{}
}

// needTool returns the path of a validator binary. A missing one fails the
// test, naming the Debian package: a skipped validator would let a broken
// payload through CI.
func needTool(tb testing.TB, name, debPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not found in PATH: install the Debian package %s (scripts/test does)", name, debPackage)
	}
	return p
}

// yamlToJSON decodes YAML with PyYAML, the parser cloud-init itself uses
// (python3-yaml is a dependency of the cloud-init package), into v.
func yamlToJSON(tb testing.TB, data []byte, v any) {
	tb.Helper()
	// The interpreter cloud-init runs under, which surely has the module;
	// another python3 earlier in PATH may not.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = needTool(tb, "python3", "python3-yaml")
	}
	cmd := exec.Command(py, "-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("parse YAML with %s (needs Debian package python3-yaml): %v\n%s", py, err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		tb.Fatalf("decode PyYAML's JSON: %v", err)
	}
}

// writeTemp writes data to a file named name in a new temp dir and returns its path.
func writeTemp(tb testing.TB, name string, data []byte, mode os.FileMode) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		tb.Fatal(err)
	}
	return p
}

// isolatedEnv is a minimal environment whose HOME and XDG directories are a
// temp dir, so tools store nothing in the real home.
func isolatedEnv(tb testing.TB, extra ...string) []string {
	tb.Helper()
	home := tb.TempDir()
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
	}, extra...)
}
