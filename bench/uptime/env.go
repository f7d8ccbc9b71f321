package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/deploy"
	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const (
	netns   = "cicfupb"
	hostIf  = "cicfupb0"
	hostIP  = "198.19.240.1"
	prefix  = "/20"
	domain  = "bench.cicf.cloud"
	sshUser = "root"
)

// hostAddr returns the i-th VM address, from 198.19.240.2 on.
func hostAddr(i int) string {
	b := make(net.IP, 4)
	binary.BigEndian.PutUint32(b, binary.BigEndian.Uint32(net.ParseIP(hostIP).To4())+1+uint32(i))
	return b.String()
}

func hostName(i int) string { return fmt.Sprintf("h%04d", i) }

// class is the world one round runs in: a namespace holding every VM
// address, one sshd and one Caddy in it, and a store listing the VMs.
type class struct {
	dir   string
	hosts int
	procs []*exec.Cmd
}

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setUp makes the namespace, the keys, the CA, the servers and the store.
func setUp(ctx context.Context, hosts int) (*class, error) {
	dir, err := os.MkdirTemp("", "cicf-uptime-")
	if err != nil {
		return nil, err
	}
	c := &class{dir: dir, hosts: hosts}
	_ = exec.Command("ip", "netns", "del", netns).Run() // a stale one from a killed run
	steps := [][]string{
		{"ip", "netns", "add", netns},
		{"ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"ip", "addr", "add", hostIP + prefix, "dev", hostIf},
		{"ip", "link", "set", hostIf, "up"},
		{"ip", "-n", netns, "link", "set", "lo", "up"},
		{"ip", "-n", netns, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := sh(s[0], s[1:]...); err != nil {
			c.tearDown()
			return nil, err
		}
	}
	var batch strings.Builder
	for i := range hosts {
		fmt.Fprintf(&batch, "addr add %s%s dev eth0\n", hostAddr(i), prefix)
	}
	cmd := exec.Command("ip", "-n", netns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		c.tearDown()
		return nil, fmt.Errorf("add addresses: %v: %s", err, out)
	}
	if err := c.start(ctx); err != nil {
		c.tearDown()
		return nil, err
	}
	return c, nil
}

func (c *class) path(name string) string { return filepath.Join(c.dir, name) }

func (c *class) start(ctx context.Context) error {
	// Keys: the VMs' host key (one sshd serves every address) and the bot's.
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("host_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return err
	}
	bot, err := sshclient.LoadOrCreateKey(c.path("bot_key"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("authorized_keys"), ssh.MarshalAuthorizedKey(bot.PublicKey()), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(c.path("host_key.pub"), ssh.MarshalAuthorizedKey(hostSigner.PublicKey()), 0o600); err != nil {
		return err
	}
	if err := c.writeCA(); err != nil {
		return err
	}
	hash, err := deploy.HashPassword("a long bench password")
	if err != nil {
		return err
	}
	sshdConfig := fmt.Sprintf(`ListenAddress 0.0.0.0:22
HostKey %s
AuthorizedKeysFile %s
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
PidFile none
MaxStartups 4000
LogLevel ERROR
`, c.path("host_ed25519"), c.path("authorized_keys"))
	caddyfile := fmt.Sprintf(`{
	admin off
	local_certs
	skip_install_trust
	storage file_system {
		root %s
	}
	pki {
		ca local {
			root {
				cert %s
				key %s
			}
			intermediate {
				cert %s
				key %s
			}
		}
	}
}
*.%s {
	tls {
		issuer internal {
			lifetime 90d
		}
	}
	basicauth {
		cicf %s
	}
	respond "JupyterLab" 200
}
`, c.path("caddy"), c.path("ca.crt"), c.path("ca.key"), c.path("int.crt"), c.path("int.key"), domain, hash)
	for name, text := range map[string]string{"sshd_config": sshdConfig, "Caddyfile": caddyfile} {
		if err := os.WriteFile(c.path(name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		return err
	}
	if err := c.spawn("/usr/sbin/sshd", "-D", "-e", "-f", c.path("sshd_config")); err != nil {
		return err
	}
	if err := c.spawn("caddy", "run", "--config", c.path("Caddyfile"), "--adapter", "caddyfile"); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	return c.writeStore(ctx, hostSigner.PublicKey())
}

// spawn starts name in the namespace; it dies with this process.
func (c *class) spawn(name string, args ...string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", netns, name}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+c.dir, "XDG_DATA_HOME="+c.dir, "XDG_CONFIG_HOME="+c.dir)
	log, err := os.Create(c.path(filepath.Base(name) + ".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// waitReady waits until the last address answers SSH and HTTPS (401).
func (c *class) waitReady(ctx context.Context) error {
	last := c.hosts - 1
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(c.path("ca.crt"))
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(caPEM)
	addr := net.JoinHostPort(hostAddr(last), "443")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		var conn net.Conn
		if conn, err = net.DialTimeout("tcp", net.JoinHostPort(hostAddr(last), "22"), time.Second); err == nil {
			conn.Close()
			var resp *http.Response
			if resp, err = client.Get("https://" + hostName(last) + "." + domain + "/"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusUnauthorized {
					return nil
				}
				err = fmt.Errorf("HTTPS status %d, want 401", resp.StatusCode)
			}
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(c.path("caddy.log"))
			return fmt.Errorf("servers not ready after 30 s: %v\ncaddy.log:\n%s", err, logs)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// writeStore records the class: a student and a running VM per address,
// each pinned to the host key sshd presents.
func (c *class) writeStore(ctx context.Context, hostKey ssh.PublicKey) error {
	db, err := store.Open(ctx, c.path("class.db"), time.Now)
	if err != nil {
		return err
	}
	defer db.Close()
	students, vms := store.NewStudentService(db), store.NewVMService(db)
	pin := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey)))
	for i := range c.hosts {
		name := hostName(i)
		if err := students.CreateStudent(ctx, &tasks.Student{Name: name, SlackID: fmt.Sprintf("U0BENCH%04d", i)}); err != nil {
			return err
		}
		if err := vms.UpsertVM(ctx, &tasks.VM{Name: name, DropletID: 1000 + i, Status: "active", IPv4: hostAddr(i),
			Region: "nyc3", Size: "s-1vcpu-2gb", HostKey: pin, CreatedAt: time.Now(), SeenAt: time.Now()}); err != nil {
			return err
		}
	}
	return nil
}

// writeCA writes a fresh test CA, root (ca.crt, ca.key) and intermediate
// (int.crt, int.key), valid a year, so Caddy can issue 90-day certificates
// as Let's Encrypt does (its own intermediate lives only 7 days).
func (c *class) writeCA() error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	intKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
			IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		}
	}
	root := tmpl(1, "cicf-bot bench CA")
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	intDER, err := x509.CreateCertificate(rand.Reader, tmpl(2, "cicf-bot bench intermediate"), root, &intKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	write := func(name string, key *ecdsa.PrivateKey, der []byte) error {
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		return errors.Join(
			os.WriteFile(c.path(name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
			os.WriteFile(c.path(name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	}
	return errors.Join(write("ca", rootKey, rootDER), write("int", intKey, intDER))
}

// tearDown stops the servers and deletes the namespace and the files.
func (c *class) tearDown() {
	for _, p := range c.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	_ = exec.Command("ip", "netns", "del", netns).Run()
	_ = exec.Command("ip", "link", "del", hostIf).Run()
	if os.Getenv("UPTIME_KEEP") == "" {
		_ = os.RemoveAll(c.dir)
	}
}
