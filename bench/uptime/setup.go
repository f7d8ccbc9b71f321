package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

const ns, link = "cicfuptbench", "cuptbench"

// hostAddr is the i-th VM address (0-based): 198.19.65.1-250, 198.19.66.1-250.
func hostAddr(i int) string { return fmt.Sprintf("198.19.%d.%d", 65+i/250, 1+i%250) }

// fleet is what setup made: the VMs' addresses, the keys and the servers.
type fleet struct {
	dir         string
	addrs       []string
	hostPub     string // the sshd's host key, authorized_keys format
	clientKey   string // the bot's private key file (OpenSSH format)
	hostKeyFile string // the servers' host key (OpenSSH format)
	authFile    string // the bot's public key, authorized_keys format
	caFile      string
	sshd, caddy *exec.Cmd
	goSSH       *exec.Cmd // the one-process SSH server on goSSHPort
	sshdLog     *os.File
}

// setup makes one namespace holding n addresses behind one sshd and one
// Caddy (a wildcard certificate from a throw-away CA, basic auth: 401
// without credentials, as on a VM); every address in rejectSSH answers
// port 22 with RST, every address in rejectHTTPS port 443. Beside sshd on
// 22, a one-process SSH server with the same host key listens on
// goSSHPort (see goserver.go).
func setup(dir string, n int, rejectSSH, rejectHTTPS map[string]bool) (*fleet, error) {
	f := &fleet{dir: dir}
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "addr", "add", "198.19.64.1/18", "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for i := range n {
		f.addrs = append(f.addrs, hostAddr(i))
		steps = append(steps, []string{"ip", "-n", ns, "addr", "add", hostAddr(i) + "/18", "dev", "eth0"})
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return f, err
		}
	}
	var rules strings.Builder
	rules.WriteString("table inet f {\n chain in {\n  type filter hook input priority 0; policy accept;\n")
	for a := range rejectSSH {
		fmt.Fprintf(&rules, "  ip daddr %s tcp dport { 22, %d } reject with tcp reset\n", a, goSSHPort)
	}
	for a := range rejectHTTPS {
		fmt.Fprintf(&rules, "  ip daddr %s tcp dport 443 reject with tcp reset\n", a)
	}
	rules.WriteString(" }\n}\n")
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules.String())
	if out, err := nft.CombinedOutput(); err != nil {
		return f, fmt.Errorf("nft: %v: %s", err, out)
	}
	if err := f.startSSHD(); err != nil {
		return f, err
	}
	if err := f.startGoServer(); err != nil {
		return f, err
	}
	return f, f.startCaddy()
}

// writeKey writes an ed25519 key in OpenSSH format and returns its public
// half in authorized_keys format.
func writeKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), nil
}

func (f *fleet) startSSHD() error {
	hostKey, clientKey := filepath.Join(f.dir, "host_ed25519"), filepath.Join(f.dir, "bot_ed25519")
	var err error
	if f.hostPub, err = writeKey(hostKey); err != nil {
		return err
	}
	clientPub, err := writeKey(clientKey)
	if err != nil {
		return err
	}
	f.clientKey, f.hostKeyFile = clientKey, hostKey
	auth := filepath.Join(f.dir, "authorized_keys")
	f.authFile = auth
	if err := os.WriteFile(auth, []byte(clientPub+"\n"), 0o600); err != nil {
		return err
	}
	// One sshd for all addresses; -r (no re-exec per connection) and a high
	// MaxStartups so 500 handshakes at once are not refused.
	cfg := fmt.Sprintf(`ListenAddress 0.0.0.0:22
HostKey %s
PidFile none
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
MaxStartups 2000
LogLevel ERROR
`, hostKey, auth)
	cfgFile := filepath.Join(f.dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return err
	}
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	f.sshd = exec.Command("ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-r", "-f", cfgFile)
	if f.sshdLog, err = os.Create(filepath.Join(f.dir, "sshd.log")); err != nil {
		return err
	}
	f.sshd.Stderr = f.sshdLog
	if err := f.sshd.Start(); err != nil {
		return fmt.Errorf("sshd: %v (apt-get install openssh-server)", err)
	}
	return waitFor(func() error {
		c, err := net.DialTimeout("tcp", f.addrs[0]+":22", time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func (f *fleet) startCaddy() error {
	var pool *x509.CertPool
	var leafCert, leafKeyFile string
	var err error
	f.caFile, leafCert, leafKeyFile, pool, err = writeCerts(f.dir)
	if err != nil {
		return err
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	hash, err := bcrypt.GenerateFromPassword(fmt.Appendf(nil, "%x", pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	caddyfile := fmt.Sprintf(`{
	admin off
	storage file_system %s
}
*.%s {
	tls %s %s
	basicauth {
		cicf %s
	}
	respond "ok"
}
`, filepath.Join(f.dir, "caddydata"), domain, leafCert, leafKeyFile, hash)
	file := filepath.Join(f.dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		return err
	}
	f.caddy = exec.Command("ip", "netns", "exec", ns, "caddy", "run", "--adapter", "caddyfile", "--config", file)
	f.caddy.Env = append(os.Environ(), "HOME="+f.dir, "XDG_DATA_HOME="+f.dir, "XDG_CONFIG_HOME="+f.dir)
	logFile := filepath.Join(f.dir, "caddy.log")
	caddyLog, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer caddyLog.Close()
	f.caddy.Stdout, f.caddy.Stderr = caddyLog, caddyLog
	if err := f.caddy.Start(); err != nil {
		return fmt.Errorf("caddy: %v (apt-get install caddy)", err)
	}
	err = waitFor(func() error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", f.addrs[0]+":443",
			&tls.Config{ServerName: "h0." + domain, RootCAs: pool})
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		out, _ := os.ReadFile(logFile)
		return fmt.Errorf("caddy: %v\n%s", err, out[max(0, len(out)-2000):])
	}
	return nil
}

// stop ends the servers and deletes the namespace and link.
func (f *fleet) stop() {
	for _, c := range []*exec.Cmd{f.sshd, f.goSSH, f.caddy} {
		if c != nil && c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	cleanup()
}

func waitFor(try func() error) error {
	var err error
	for range 100 {
		if err = try(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after 10 s: %v", err)
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %v: %s", args, err, out)
	}
	return nil
}

func cleanup() {
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", link).Run()
}

// serverCPU is the CPU the servers (both SSH servers, sshd with its reaped
// per-connection children, and Caddy) have used so far, from
// /proc/PID/stat.
func (f *fleet) serverCPU() time.Duration {
	var ticks int64
	for _, c := range []*exec.Cmd{f.sshd, f.goSSH, f.caddy} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state is the 1st,
		// utime, stime, cutime and cstime the 12th to 15th.
		fs := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		for _, v := range fs[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
