package tasks_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

// keySet holds keys in authorized_keys format without a comment, and
// private keys as a student might paste them by mistake.
type keySet struct {
	ed25519, ecdsa256, ecdsa384, ecdsa521, rsa3072, rsa2048, rsa1024 string
	other, dsa, skEd25519, cert, unknownType                         string
	ed25519Private, rsaPrivate                                       string
}

// generateKeys is slow (RSA), so every test shares one set.
var generateKeys = sync.OnceValues(func() (*keySet, error) {
	ks := &keySet{}
	line := func(pub any) (string, error) {
		pk, err := ssh.NewPublicKey(pub)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), nil
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if ks.ed25519, err = line(edPub); err != nil {
		return nil, err
	}
	otherPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if ks.other, err = line(otherPub); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		curve elliptic.Curve
		dst   *string
	}{{elliptic.P256(), &ks.ecdsa256}, {elliptic.P384(), &ks.ecdsa384}, {elliptic.P521(), &ks.ecdsa521}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			return nil, err
		}
		if *c.dst, err = line(&k.PublicKey); err != nil {
			return nil, err
		}
	}
	for _, r := range []struct {
		bits int
		dst  *string
	}{{3072, &ks.rsa3072}, {2048, &ks.rsa2048}, {1024, &ks.rsa1024}} {
		k, err := rsa.GenerateKey(rand.Reader, r.bits)
		if err != nil {
			return nil, err
		}
		if *r.dst, err = line(&k.PublicKey); err != nil {
			return nil, err
		}
		ks.rsaPrivate = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
	// x/crypto/ssh no longer parses ssh-dss, so the blob is built by hand.
	one := big.NewInt(1)
	ks.dsa = "ssh-dss " + base64.StdEncoding.EncodeToString(ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{"ssh-dss", new(big.Int).Lsh(one, 1023), new(big.Int).Lsh(one, 159), big.NewInt(2), big.NewInt(3)}))
	ks.skEd25519 = "sk-ssh-ed25519@openssh.com " + base64.StdEncoding.EncodeToString(ssh.Marshal(struct {
		Name        string
		Key         []byte
		Application string
	}{ssh.KeyAlgoSKED25519, edPub, "ssh:"}))
	ks.unknownType = "ssh-foo " + base64.StdEncoding.EncodeToString(ssh.Marshal(struct {
		Name string
		Key  []byte
	}{"ssh-foo", edPub}))

	signer, err := ssh.NewSignerFromKey(edPriv)
	if err != nil {
		return nil, err
	}
	cert := &ssh.Certificate{Key: signer.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"emma"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		return nil, err
	}
	ks.cert = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))
	block, err := ssh.MarshalPrivateKey(edPriv, "emma@laptop")
	if err != nil {
		return nil, err
	}
	ks.ed25519Private = string(pem.EncodeToMemory(block))
	return ks, nil
})

func newKeys(tb testing.TB) *keySet {
	tb.Helper()
	ks, err := generateKeys()
	if err != nil {
		tb.Fatalf("generate keys: %v", err)
	}
	return ks
}

type keyCase struct {
	name    string
	in      string
	want    string // normalized key; "" when an error is expected
	wantErr string // a part of the error message
}

func keyCases(ks *keySet) []keyCase {
	const notKey = "not an SSH public key"
	other := ks.other
	return []keyCase{
		{"ed25519", ks.ed25519, ks.ed25519, ""},
		{"ed25519 with comment", ks.ed25519 + " emma@laptop", ks.ed25519 + " emma@laptop", ""},
		{"comment with spaces", ks.ed25519 + " Emma Lee (laptop)", ks.ed25519 + " Emma Lee (laptop)", ""},
		// Provisioning writes the key into user-data unquoted: a comment
		// deploy would refuse is dropped here, so a saved key always works.
		{"unicode comment dropped", ks.ed25519 + " émma 🔑", ks.ed25519, ""},
		{"quote in comment dropped", ks.ed25519 + " Emma's laptop", ks.ed25519, ""},
		{"plain comment kept", ks.ed25519 + " emma@laptop (2026)", ks.ed25519 + " emma@laptop (2026)", ""},
		{"control char comment dropped", ks.ed25519 + " emma\x07", ks.ed25519, ""},
		{"surrounding whitespace", " \t\n" + ks.ed25519 + "  emma  \r\n\n", ks.ed25519 + " emma", ""},
		{"tabs between fields", strings.Replace(ks.ed25519, " ", "\t", 1) + "\temma", ks.ed25519 + " emma", ""},
		{"CRLF", ks.ed25519 + " emma\r\n", ks.ed25519 + " emma", ""},
		{"options dropped", `command="rm -rf /",no-pty ` + ks.ed25519 + " emma", ks.ed25519 + " emma", ""},
		{"ecdsa p256", ks.ecdsa256, ks.ecdsa256, ""},
		{"ecdsa p384", ks.ecdsa384, ks.ecdsa384, ""},
		{"ecdsa p521", ks.ecdsa521, ks.ecdsa521, ""},
		{"rsa 3072", ks.rsa3072 + " old@box", ks.rsa3072 + " old@box", ""},
		{"rsa 2048", ks.rsa2048 + " old@box", "", "RSA key has 2048 bits; keys under 3072 bits are too weak"},
		{"rsa 1024", ks.rsa1024, "", "RSA key has 1024 bits"},
		{"dsa", ks.dsa, "", "DSA (`ssh-dss`) key: DSA is obsolete"},
		{"dsa with options", `no-pty ` + ks.dsa + " old@box", "", "DSA is obsolete"},
		{"dsa on the second line", ks.ed25519 + "\n" + ks.dsa, "", notKey},
		{"security key", ks.skEd25519, "", "sk-ssh-ed25519@openssh.com is not supported"},
		{"certificate", ks.cert, "", "is not supported"},
		{"unknown type", ks.unknownType, "", notKey},
		{"type mismatch", "ssh-rsa " + strings.Fields(ks.ed25519)[1], "", notKey},
		{"no type", strings.Fields(ks.ed25519)[1], "", notKey},
		{"truncated", ks.ed25519[:len(ks.ed25519)-8], "", notKey},
		{"fingerprint", "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "", notKey},
		{"empty", "", "", notKey},
		{"blank", " \n\t ", "", notKey},
		{"comment line only", "# my key", "", notKey},
		{"openssh private key", ks.ed25519Private, "", "*private* key"},
		{"rsa private key", "  " + ks.rsaPrivate, "", "*private* key"},
		{"private key after public", ks.ed25519 + "\n" + ks.ed25519Private, "", "*private* key"},
		{"two keys on two lines", ks.ed25519 + "\n" + other, "", notKey},
		{"two keys on one line", ks.ed25519 + " " + other, "", "more than one"},
		{"two keys with comments on one line", ks.ed25519 + " emma@laptop " + other + " emma@desktop", "", "more than one"},
		{"trailing garbage line", ks.ed25519 + " emma\nthanks!", "", notKey},
		{"trailing comment line", ks.ed25519 + "\n# laptop", "", notKey},
	}
}

// newKeyLine returns a fresh ed25519 key in authorized_keys format.
func newKeyLine(tb testing.TB) string {
	tb.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

func TestNormalizePublicKey(t *testing.T) {
	for _, tt := range keyCases(newKeys(t)) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tasks.NormalizePublicKey(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizePublicKey(%q) = %q, %v, want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("NormalizePublicKey(%q) = %q, nil, want an error containing %q", tt.in, got, tt.wantErr)
			}
			if code := tasks.ErrorCode(err); code != tasks.EINVALID {
				t.Errorf("ErrorCode(NormalizePublicKey(%q)) = %q, want %q", tt.in, code, tasks.EINVALID)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("ErrorMessage(NormalizePublicKey(%q)) = %q, want it to contain %q", tt.in, msg, tt.wantErr)
			}
			if got != "" {
				t.Errorf("NormalizePublicKey(%q) = %q with an error, want \"\"", tt.in, got)
			}
		})
	}
}

// The message for a pasted private key must not quote the key back.
func TestNormalizePublicKey_privateKeyNotEchoed(t *testing.T) {
	ks := newKeys(t)
	_, err := tasks.NormalizePublicKey(ks.ed25519Private)
	body := strings.Split(ks.ed25519Private, "\n")[1]
	if msg := tasks.ErrorMessage(err); strings.Contains(msg, body[:20]) {
		t.Errorf("ErrorMessage(NormalizePublicKey(private key)) = %q, want no part of the key", msg)
	}
}

func FuzzNormalizePublicKey(f *testing.F) {
	ks := newKeys(f)
	for _, tt := range keyCases(ks) {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := tasks.NormalizePublicKey(in)
		if err != nil {
			if code := tasks.ErrorCode(err); code != tasks.EINVALID {
				t.Fatalf("ErrorCode(NormalizePublicKey(%q)) = %q, want %q", in, code, tasks.EINVALID)
			}
			return
		}
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("NormalizePublicKey(%q) = %q, want one line", in, out)
		}
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(in)))
		if err != nil {
			t.Fatalf("NormalizePublicKey(%q) accepted what ssh.ParseAuthorizedKey rejects: %v", in, err)
		}
		got, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(out))
		if err != nil {
			t.Fatalf("ParseAuthorizedKey(NormalizePublicKey(%q) = %q) = %v", in, out, err)
		}
		if !bytes.Equal(got.Marshal(), want.Marshal()) {
			t.Errorf("NormalizePublicKey(%q) = %q, a different key than the input's", in, out)
		}
		if len(options) > 0 || len(rest) > 0 {
			t.Errorf("ParseAuthorizedKey(%q) has options %q and rest %q, want none", out, options, rest)
		}
		if wantOut := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(got))); comment != "" {
			if wantOut += " " + comment; out != wantOut {
				t.Errorf("NormalizePublicKey(%q) = %q, want %q", in, out, wantOut)
			}
		}
		again, err := tasks.NormalizePublicKey(out)
		if err != nil || again != out {
			t.Errorf("NormalizePublicKey(%q) = %q, %v, want %q, nil (idempotent)", out, again, err, out)
		}
	})
}
