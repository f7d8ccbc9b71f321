package testvm

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// accounts is the VM's /etc/passwd, /etc/group and /etc/shadow: the host's,
// plus the users the user-data creates.
type accounts struct {
	passwd, group, shadow [][]string // colon-separated fields per line
}

type account struct {
	uid, gid int
	home     string
}

func readAccounts() (*accounts, error) {
	a := &accounts{}
	for name, dst := range map[string]*[][]string{"/etc/passwd": &a.passwd, "/etc/group": &a.group, "/etc/shadow": &a.shadow} {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(data)) {
			if line = strings.TrimRight(line, "\n"); line != "" {
				*dst = append(*dst, strings.Split(line, ":"))
			}
		}
	}
	return a, nil
}

// addUser creates name like cloud-init's useradd call: a user group of the
// same name, membership of groups (created if missing), home directory.
func (a *accounts) addUser(name, gecos, home, shell string, groups []string) error {
	if find(a.passwd, name) != nil {
		return fmt.Errorf("user-data user %q exists on this machine already; pick another name", name)
	}
	uid := freeID(a.passwd, 2, 1000)
	gid := uid
	if slices.ContainsFunc(a.group, func(f []string) bool { return len(f) > 2 && f[2] == strconv.Itoa(gid) }) {
		gid = freeID(a.group, 2, 1000)
	}
	if home == "" {
		home = "/home/" + name
	}
	if shell == "" {
		shell = "/bin/sh" // Debian's useradd default
	}
	a.passwd = append(a.passwd, []string{name, "x", strconv.Itoa(uid), strconv.Itoa(gid), gecos, home, shell})
	a.group = append(a.group, []string{name, "x", strconv.Itoa(gid), ""})
	// "*": no password can match, yet, unlike cloud-init's "!" (lock_passwd),
	// sshd without PAM does not take it for a locked account.
	a.shadow = append(a.shadow, []string{name, "*", "20000", "0", "99999", "7", "", "", ""})
	for _, g := range groups {
		if err := a.addGroup(g, name); err != nil {
			return err
		}
	}
	return nil
}

// addGroup adds members to group, creating it as a system group if needed.
func (a *accounts) addGroup(group string, members ...string) error {
	f := find(a.group, group)
	if f == nil {
		f = []string{group, "x", strconv.Itoa(freeSystemID(a.group)), ""}
		a.group = append(a.group, f)
		f = a.group[len(a.group)-1]
	}
	if len(f) < 4 {
		return fmt.Errorf("malformed /etc/group line for %s", group)
	}
	for _, m := range members {
		list := strings.FieldsFunc(f[3], func(r rune) bool { return r == ',' })
		if !slices.Contains(list, m) {
			f[3] = strings.Join(append(list, m), ",")
		}
	}
	return nil
}

func (a *accounts) user(name string) account {
	f := find(a.passwd, name)
	uid, _ := strconv.Atoi(f[2])
	gid, _ := strconv.Atoi(f[3])
	return account{uid: uid, gid: gid, home: f[5]}
}

// owner resolves write_files' "user:group" (default root:root).
func (a *accounts) owner(spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	u, g, _ := strings.Cut(spec, ":")
	pf := find(a.passwd, u)
	if pf == nil {
		return 0, 0, fmt.Errorf("unknown user %q", u)
	}
	uid, _ = strconv.Atoi(pf[2])
	gid, _ = strconv.Atoi(pf[3])
	if g != "" {
		gf := find(a.group, g)
		if gf == nil {
			return 0, 0, fmt.Errorf("unknown group %q", g)
		}
		gid, _ = strconv.Atoi(gf[2])
	}
	return uid, gid, nil
}

func (a *accounts) render(file string) []byte {
	lines := map[string][][]string{"/etc/passwd": a.passwd, "/etc/group": a.group, "/etc/shadow": a.shadow}[file]
	var b strings.Builder
	for _, f := range lines {
		b.WriteString(strings.Join(f, ":") + "\n")
	}
	return []byte(b.String())
}

func find(lines [][]string, name string) []string {
	for _, f := range lines {
		if f[0] == name {
			return f
		}
	}
	return nil
}

// freeID returns the lowest id >= from not used in field col.
func freeID(lines [][]string, col, from int) int {
	used := map[string]bool{}
	for _, f := range lines {
		if len(f) > col {
			used[f[col]] = true
		}
	}
	for id := from; ; id++ {
		if !used[strconv.Itoa(id)] {
			return id
		}
	}
}

// freeSystemID returns the highest free gid below 1000, as groupadd -r does.
func freeSystemID(groups [][]string) int {
	for id := 999; id > 100; id-- {
		if !slices.ContainsFunc(groups, func(f []string) bool { return len(f) > 2 && f[2] == strconv.Itoa(id) }) {
			return id
		}
	}
	return freeID(groups, 2, 60000)
}
