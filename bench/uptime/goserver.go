package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"golang.org/x/crypto/ssh"
)

// goSSHPort is where the one-process SSH server listens, beside sshd on 22.
const goSSHPort = 2222

// goServerMain is the one-process SSH server: x/crypto/ssh's server side,
// one goroutine per connection, no fork. It answers the key exchange with
// the same host key as sshd (so the same pin holds) and accepts the bot's
// key for a login, then closes. It stands in for what a class of real VMs
// gives a sweep: every VM pays for its own key exchange on its own CPU,
// while here one sshd forking twice per connection pays for all 500 on the
// two cores the bot runs on. Run by the bench inside the namespace.
func goServerMain(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: uptime -goserver HOSTKEY AUTHORIZED_KEY")
		return 2
	}
	if err := goServe(args[0], args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "goserver:", err)
		return 1
	}
	return 0
}

func goServe(hostKeyFile, authorizedFile string) error {
	b, err := os.ReadFile(hostKeyFile)
	if err != nil {
		return err
	}
	hostKey, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return err
	}
	if b, err = os.ReadFile(authorizedFile); err != nil {
		return err
	}
	allowed, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return err
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(allowed.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", goSSHPort))
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			// The bot's uptime check stops after the key exchange; a login
			// gets no channel and is closed.
			if sc, chans, reqs, err := ssh.NewServerConn(c, cfg); err == nil {
				go ssh.DiscardRequests(reqs)
				for ch := range chans {
					ch.Reject(ssh.Prohibited, "no sessions here")
				}
				sc.Close()
			}
		}()
	}
}

// startGoServer starts goServerMain inside the namespace, with sshd's host
// key and the bot's key.
func (f *fleet) startGoServer() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	f.goSSH = exec.Command("ip", "netns", "exec", ns, self, "-goserver", f.hostKeyFile, f.authFile)
	f.goSSH.Stderr = os.Stderr
	if err := f.goSSH.Start(); err != nil {
		return err
	}
	return waitFor(func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", f.addrs[0], goSSHPort), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}
