package testvm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// cloudConfig is the part of a #cloud-config that the VM acts on, after
// normalising the shapes cloud-init accepts (a string or a list, and so on).
type cloudConfig struct {
	Hostname   string
	FQDN       string
	PwAuth     string // "yes", "no" or "" (unchanged)
	HostKey    string // ssh_keys.ed25519_private
	HostPub    string // ssh_keys.ed25519_public
	Users      []cloudUser
	WriteFiles []writeFile
	Runcmd     []string // shell lines, as cloud-init's runcmd script has them
}

type cloudUser struct {
	Name   string
	Gecos  string
	Groups []string
	Sudo   []string // sudoers rules, e.g. "ALL=(ALL) NOPASSWD:ALL"
	Shell  string
	Home   string
	Keys   []string
}

type writeFile struct {
	Path    string
	Content []byte
	Mode    os.FileMode
	Owner   string // user:group
	Append  bool
}

// rawConfig is the JSON that python's yaml module makes of the user-data.
type rawConfig struct {
	Hostname   any               `json:"hostname"`
	FQDN       any               `json:"fqdn"`
	SSHPwauth  any               `json:"ssh_pwauth"`
	SSHKeys    map[string]string `json:"ssh_keys"`
	Users      []any             `json:"users"`
	Runcmd     []any             `json:"runcmd"`
	WriteFiles []struct {
		Path        string `json:"path"`
		Content     string `json:"content"`
		Encoding    string `json:"encoding"`
		Permissions any    `json:"permissions"`
		Owner       string `json:"owner"`
		Append      bool   `json:"append"`
	} `json:"write_files"`
}

// yamlToJSON is what cloud-init itself uses to read user-data: PyYAML's
// safe_load (python3-yaml is a dependency of the cloud-init package).
const yamlToJSON = `import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), default=str))`

// parseUserData reads a #cloud-config document as cloud-init would.
func parseUserData(userData []byte) (*cloudConfig, error) {
	if !bytes.HasPrefix(userData, []byte("#cloud-config\n")) {
		return nil, fmt.Errorf("user-data does not start with a #cloud-config line")
	}
	python := "/usr/bin/python3" // Debian's, which has python3-yaml
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	cmd := exec.Command(python, "-c", yamlToJSON)
	cmd.Stdin = bytes.NewReader(userData)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("parse user-data with %s and PyYAML (install python3-yaml): %v: %s", python, err, stderr.Bytes())
	}
	var raw rawConfig
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("user-data is not a cloud-config mapping: %w", err)
	}
	return normalise(&raw)
}

func normalise(raw *rawConfig) (*cloudConfig, error) {
	cfg := &cloudConfig{
		HostKey: raw.SSHKeys["ed25519_private"],
		HostPub: strings.TrimSpace(raw.SSHKeys["ed25519_public"]),
	}
	if cfg.HostKey == "" || cfg.HostPub == "" {
		return nil, fmt.Errorf("user-data has no ssh_keys.ed25519_private and ed25519_public: the VM would have no pinned host key")
	}
	cfg.Hostname, cfg.FQDN = scalar(raw.Hostname), scalar(raw.FQDN)
	if cfg.Hostname == "" && cfg.FQDN != "" {
		cfg.Hostname, _, _ = strings.Cut(cfg.FQDN, ".")
	}
	switch v := raw.SSHPwauth.(type) {
	case bool:
		cfg.PwAuth = map[bool]string{true: "yes", false: "no"}[v]
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			cfg.PwAuth = map[bool]string{true: "yes", false: "no"}[b]
		}
	}
	for _, u := range raw.Users {
		m, ok := u.(map[string]any)
		if !ok {
			continue // "default": the image's default user, which DO images lack
		}
		cu := cloudUser{
			Name:   scalar(m["name"]),
			Gecos:  scalar(m["gecos"]),
			Groups: list(m["groups"]),
			Shell:  scalar(m["shell"]),
			Home:   scalar(m["homedir"]),
			Keys:   list(m["ssh_authorized_keys"]),
		}
		switch sudo := m["sudo"].(type) {
		case string: // one rule, which may itself hold commas
			cu.Sudo = []string{sudo}
		case []any:
			cu.Sudo = list(sudo)
		}
		if cu.Name == "" {
			return nil, fmt.Errorf("user-data lists a user without a name")
		}
		cfg.Users = append(cfg.Users, cu)
	}
	for _, f := range raw.WriteFiles {
		wf, err := decodeWriteFile(f.Path, f.Content, f.Encoding, f.Permissions)
		if err != nil {
			return nil, err
		}
		wf.Owner, wf.Append = f.Owner, f.Append
		cfg.WriteFiles = append(cfg.WriteFiles, wf)
	}
	for _, c := range raw.Runcmd {
		switch c := c.(type) {
		case string:
			cfg.Runcmd = append(cfg.Runcmd, c)
		case []any: // an argv: cloud-init quotes each word
			words := make([]string, len(c))
			for i, w := range c {
				words[i] = shellQuote(scalar(w))
			}
			cfg.Runcmd = append(cfg.Runcmd, strings.Join(words, " "))
		default:
			return nil, fmt.Errorf("runcmd entry %v is neither a string nor a list", c)
		}
	}
	return cfg, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func decodeWriteFile(path, content, encoding string, perm any) (writeFile, error) {
	wf := writeFile{Path: path, Mode: 0o644}
	if !strings.HasPrefix(path, "/") {
		return wf, fmt.Errorf("write_files: path %q is not absolute", path)
	}
	data := []byte(content)
	var err error
	switch strings.ToLower(encoding) {
	case "", "text/plain":
	case "b64", "base64":
		data, err = base64.StdEncoding.DecodeString(content)
	case "gz+b64", "gzip+b64", "gz+base64", "gzip+base64":
		if data, err = base64.StdEncoding.DecodeString(content); err == nil {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(data)); err == nil {
				data, err = io.ReadAll(zr)
			}
		}
	default:
		err = fmt.Errorf("unknown encoding %q", encoding)
	}
	if err != nil {
		return wf, fmt.Errorf("write_files %s: %w", path, err)
	}
	wf.Content = data
	switch p := perm.(type) {
	case string:
		m, err := strconv.ParseUint(strings.TrimPrefix(p, "0o"), 8, 32)
		if err != nil {
			return wf, fmt.Errorf("write_files %s: permissions %q: %w", path, p, err)
		}
		wf.Mode = os.FileMode(m)
	case float64: // YAML 1.1 read an unquoted 0644 as octal already
		wf.Mode = os.FileMode(p)
	}
	return wf, nil
}

// scalar returns a YAML scalar as text, "" for null.
func scalar(v any) string {
	if v == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// list accepts cloud-init's "a, b" strings and YAML lists alike.
func list(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range v {
			if s := scalar(e); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
