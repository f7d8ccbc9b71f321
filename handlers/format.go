package handlers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

// age renders a duration the way people say it: "5m", "3h", "2d 4h".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h > 0 && days < 10 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}

// fingerprint renders an authorized_keys line as ssh-keygen -lf shows it:
// "SHA256:… (ED25519)". It returns "" for an empty or unparsable key.
func fingerprint(authorizedKey string) string {
	fp := tasks.Fingerprint(authorizedKey)
	if fp == "" {
		return ""
	}
	return fmt.Sprintf("%s (%s)", fp, keyTypeName(strings.Fields(authorizedKey)[0]))
}

func keyTypeName(t string) string {
	switch t {
	case ssh.KeyAlgoED25519:
		return "ED25519"
	case ssh.KeyAlgoRSA:
		return "RSA"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "ECDSA"
	}
	return t
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// orDash returns s, or "—" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
