package testvm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aptRepos stands in for the two package sources a first boot fetches from
// outside: Debian's mirror (the packages module's apt-get update and ufw
// install) and Docker's repository (cicf-docker). It serves both over HTTP
// from this machine's side of the VM's link, signed with a key made for the
// test. Debian's index is empty (ufw is in the root already, so apt-get
// install finds it up to date); Docker's lists stand-in packages whose
// docker-ce creates the docker system group as the real postinst does.
type aptRepos struct {
	URL    string // http://198.18.N.1:PORT, no trailing slash
	KeyASC []byte // the signing key, armored, for signed-by=
	srv    *http.Server
}

// dockerStandins are the packages cicf-docker installs, with what each
// installs besides its name.
var dockerStandins = map[string]string{
	"docker-ce": `#!/bin/sh
set -e
# As docker-ce's own postinst: a system group, made only if missing.
if [ "$1" = configure ] && ! getent group docker >/dev/null; then groupadd --system docker; fi
`,
	"docker-ce-cli":         "",
	"containerd.io":         "",
	"docker-compose-plugin": "",
}

// startAptRepos builds both repositories under dir and serves them on
// hostIP. When dockerDown is set, Docker's repository answers 404 to
// everything, as an unreachable one would fail apt-get update.
func startAptRepos(tb testing.TB, dir, hostIP string, dockerDown bool) *aptRepos {
	tb.Helper()
	for tool, pkg := range map[string]string{"gpg": "gnupg", "dpkg-deb": "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("testvm: the apt stand-in needs %s: install %s", tool, pkg)
		}
	}
	gnupg := filepath.Join(dir, "gnupg")
	if err := os.MkdirAll(gnupg, 0o700); err != nil {
		tb.Fatal(err)
	}
	gpg := func(args ...string) []byte {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", gnupg, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("testvm: gpg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	gpg("--quick-gen-key", "cicf-bot test repository", "ed25519", "sign", "never")
	r := &aptRepos{KeyASC: gpg("--armor", "--export")}

	root := filepath.Join(dir, "www")
	debs := map[string][]byte{}
	for name, postinst := range dockerStandins {
		debs[name] = buildDeb(tb, filepath.Join(dir, "debs"), name, postinst)
	}
	writeRepo(tb, filepath.Join(root, "debian"), "bookworm", "main", nil, gpg)
	writeRepo(tb, filepath.Join(root, "docker"), "bookworm", "stable", debs, gpg)

	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if err != nil {
		tb.Fatalf("testvm: apt stand-in: %v", err)
	}
	r.URL = "http://" + ln.Addr().String()
	files := http.FileServer(http.Dir(root))
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if dockerDown && strings.HasPrefix(req.URL.Path, "/docker/") {
			http.NotFound(w, req)
			return
		}
		files.ServeHTTP(w, req)
	})}
	go r.srv.Serve(ln)
	tb.Cleanup(func() { r.srv.Close() })
	return r
}

// buildDeb makes a package with dpkg-deb and returns its bytes.
func buildDeb(tb testing.TB, dir, name, postinst string) []byte {
	tb.Helper()
	pkg := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755); err != nil {
		tb.Fatal(err)
	}
	control := fmt.Sprintf("Package: %s\nVersion: 5:99.0.0-cicf\nArchitecture: all\nMaintainer: cicf-bot tests <tests@invalid>\nDescription: stand-in for %s on a test VM\n", name, name)
	must(tb, os.WriteFile(filepath.Join(pkg, "DEBIAN", "control"), []byte(control), 0o644))
	if postinst != "" {
		must(tb, os.WriteFile(filepath.Join(pkg, "DEBIAN", "postinst"), []byte(postinst), 0o755))
	}
	out := pkg + ".deb"
	if b, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", pkg, out).CombinedOutput(); err != nil {
		tb.Fatalf("testvm: dpkg-deb %s: %v\n%s", name, err, b)
	}
	data, err := os.ReadFile(out)
	must(tb, err)
	return data
}

// writeRepo writes a signed repository (dists/SUITE/InRelease, one
// component for amd64, pool/) holding debs.
func writeRepo(tb testing.TB, root, suite, component string, debs map[string][]byte, gpg func(...string) []byte) {
	tb.Helper()
	var packages strings.Builder
	for name, data := range debs {
		file := "pool/" + name + ".deb"
		must(tb, os.MkdirAll(filepath.Join(root, "pool"), 0o755))
		must(tb, os.WriteFile(filepath.Join(root, file), data, 0o644))
		sum := sha256.Sum256(data)
		fmt.Fprintf(&packages, "Package: %s\nVersion: 5:99.0.0-cicf\nArchitecture: all\nMaintainer: cicf-bot tests <tests@invalid>\n"+
			"Filename: %s\nSize: %d\nSHA256: %s\nDescription: stand-in for %s on a test VM\n\n", name, file, len(data), hex.EncodeToString(sum[:]), name)
	}
	index := component + "/binary-amd64/Packages"
	dists := filepath.Join(root, "dists", suite)
	must(tb, os.MkdirAll(filepath.Join(dists, component, "binary-amd64"), 0o755))
	must(tb, os.WriteFile(filepath.Join(dists, index), []byte(packages.String()), 0o644))
	sum := sha256.Sum256([]byte(packages.String()))
	release := fmt.Sprintf("Origin: cicf-bot tests\nSuite: %s\nCodename: %s\nDate: %s\nArchitectures: amd64\nComponents: %s\nSHA256:\n %s %d %s\n",
		suite, suite, time.Now().UTC().Format(time.RFC1123), component, hex.EncodeToString(sum[:]), packages.Len(), index)
	must(tb, os.WriteFile(filepath.Join(dists, "Release"), []byte(release), 0o644))
	gpg("--clearsign", "--output", filepath.Join(dists, "InRelease"), filepath.Join(dists, "Release"))
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
