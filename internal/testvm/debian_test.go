package testvm

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/deploy"
)

// studentKey is a key pair whose private half the real ssh client reads.
type studentKey struct {
	pub  ssh.PublicKey
	file string
}

func newStudentKey(t *testing.T) studentKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	return studentKey{pub: sshPub, file: file}
}

// botUserData is the bot's own user-data for emma, from deploy.
func botUserData(t *testing.T, host hostKey, student, bot ssh.PublicKey) []byte {
	t.Helper()
	ud, err := deploy.RenderUserData(deploy.UserDataParams{
		Name: "emma", FQDN: "emma.cicf.cloud", StudentKey: authorized(student) + " emma@laptop", BotKey: authorized(bot) + " cicf-bot",
		HostKeyPrivate: host.pem, HostKeyPublic: authorized(host.pub),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ud
}

// cloudInitResult is /run/cloud-init/result.json.
type cloudInitResult struct {
	V1 struct {
		Errors []string `json:"errors"`
	} `json:"v1"`
}

func resultErrors(t *testing.T, vm *VM) []string {
	t.Helper()
	var res cloudInitResult
	if err := json.Unmarshal([]byte(mustExec(t, vm, "cat", "/run/cloud-init/result.json")), &res); err != nil {
		t.Fatalf("result.json: %v", err)
	}
	return res.V1.Errors
}

func TestDebianFirstBootSmoke(t *testing.T) {
	host, student, bot := newHostKey(t), newStudentKey(t), newClientKey(t)
	start := time.Now()
	vm := StartDebian(t, 50, botUserData(t, host, student.pub, bot.PublicKey()), DebianOptions{})
	t.Logf("boot: %v", time.Since(start))
	t.Log(mustExec(t, vm, "cloud-init", "status", "--long"))
	t.Log(resultErrors(t, vm))
	t.Log(vm.Log())
}
