package deploy

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRenderFiles(t *testing.T) {
	pl := mustRender(t, mustParams(t))
	want := map[string]fs.FileMode{
		DataDir + "/compose.yml":             0o644,
		DataDir + "/Caddyfile":               0o644,
		DataDir + "/.env":                    0o600,
		DataDir + "/work/welcome.ipynb":      0o644,
		"/etc/systemd/system/" + ServiceName: 0o644,
	}
	got := map[string]fs.FileMode{}
	for _, f := range pl.Files {
		got[f.Path] = f.Mode
		if len(f.Data) == 0 {
			t.Errorf("%s is empty", f.Path)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("Render files = %v, want %v", got, want)
	}
}

// TestCompose asserts what no validator here can: Docker publishes ports
// ahead of ufw, so the only published ports must be Caddy's 80 and 443/tcp.
func TestCompose(t *testing.T) {
	pl := mustRender(t, mustParams(t))
	var c struct {
		Services map[string]map[string]any `json:"services"`
		Volumes  map[string]any            `json:"volumes"`
	}
	yamlToJSON(t, payloadFile(t, pl, DataDir+"/compose.yml").Data, &c)

	jupyter, caddy := c.Services["jupyter"], c.Services["caddy"]
	if jupyter == nil || caddy == nil || len(c.Services) != 2 {
		t.Fatalf("services = %v, want jupyter and caddy", c.Services)
	}
	if p, ok := jupyter["ports"]; ok {
		t.Errorf("jupyter ports = %v, want none (Docker-published ports bypass ufw)", p)
	}
	if got := jupyter["expose"]; !jsonEqual(got, []string{"8888"}) {
		t.Errorf("jupyter expose = %v, want [8888]", got)
	}
	if cmd, _ := jupyter["command"].(string); !strings.Contains(cmd, "--IdentityProvider.token=''") {
		t.Errorf("jupyter command = %q, want token auth off (Caddy authenticates)", cmd)
	}
	if got := jupyter["volumes"]; !jsonEqual(got, []string{"./work:/home/jovyan/work"}) {
		t.Errorf("jupyter volumes = %v, want ./work:/home/jovyan/work", got)
	}

	ports, _ := caddy["ports"].([]any)
	var published []string
	for _, p := range ports {
		s, _ := p.(string)
		// "80:80" is TCP; anything with another protocol or host address
		// than expected shows up as a mismatch below.
		published = append(published, strings.TrimSuffix(s, "/tcp"))
	}
	if !slices.Equal(published, []string{"80:80", "443:443"}) {
		t.Errorf("caddy ports = %v, want exactly 80:80 and 443:443 over TCP", caddy["ports"])
	}
	if got := caddy["env_file"]; got != ".env" {
		t.Errorf("caddy env_file = %v, want .env", got)
	}
	vols, _ := caddy["volumes"].([]any)
	if !slices.Contains(vols, any("./Caddyfile:/etc/caddy/Caddyfile:ro")) {
		t.Errorf("caddy volumes = %v, want the Caddyfile mounted read-only", vols)
	}
	for _, v := range []string{"caddy_data", "caddy_config"} {
		if _, ok := c.Volumes[v]; !ok {
			t.Errorf("volumes = %v, want %s", c.Volumes, v)
		}
	}
	for name, s := range c.Services {
		if s["restart"] != "unless-stopped" {
			t.Errorf("%s restart = %v, want unless-stopped", name, s["restart"])
		}
	}
}

func jsonEqual(got any, want any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}

// envLineRE is the only line shape .env may have besides comments: compose
// takes single-quoted values literally, so a bcrypt "$" stays a "$".
var envLineRE = regexp.MustCompile(`^([A-Z_]+)='([^'\n]*)'$`)

// parseEnv reads the rendered .env as compose would, failing on any line
// compose could read differently.
func parseEnv(tb testing.TB, data []byte) map[string]string {
	tb.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := envLineRE.FindStringSubmatch(line)
		if m == nil {
			tb.Fatalf(".env line %q is not KEY='value'", line)
		}
		env[m[1]] = m[2]
	}
	return env
}

func TestEnvFile(t *testing.T) {
	p := mustParams(t)
	pl := mustRender(t, p)
	got := parseEnv(t, payloadFile(t, pl, DataDir+"/.env").Data)
	want := map[string]string{"DOMAIN": "emma.cicf.cloud", "CADDY_USERNAME": "cicf", "CADDY_PASSWORD": p.CaddyPasswordHash}
	if !maps.Equal(got, want) {
		t.Errorf(".env = %v, want %v", got, want)
	}
}

func TestNotebook(t *testing.T) {
	pl := mustRender(t, mustParams(t))
	var nb struct {
		Cells []struct {
			CellType string   `json:"cell_type"`
			ID       string   `json:"id"`
			Source   []string `json:"source"`
		} `json:"cells"`
		NBFormat      int `json:"nbformat"`
		NBFormatMinor int `json:"nbformat_minor"`
	}
	data := payloadFile(t, pl, DataDir+"/work/welcome.ipynb").Data
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("welcome.ipynb is not JSON: %v", err)
	}
	if nb.NBFormat != 4 || len(nb.Cells) != 2 || nb.Cells[0].CellType != "markdown" || nb.Cells[1].CellType != "code" {
		t.Errorf("welcome.ipynb = %+v, want nbformat 4 with a markdown and a code cell", nb)
	}
	if nb.NBFormatMinor >= 5 && (nb.Cells[0].ID == "" || nb.Cells[1].ID == "") {
		t.Errorf("nbformat 4.%d needs cell ids", nb.NBFormatMinor)
	}
	if !strings.Contains(strings.Join(nb.Cells[0].Source, ""), "Welcome, emma!") {
		t.Errorf("markdown cell = %q, want it to welcome emma", nb.Cells[0].Source)
	}
}

// TestUnitVerify runs systemd-analyze verify. This machine has neither
// docker.service nor (in CI) /usr/bin/docker, and the tool says so; any
// other complaint is a real problem with the unit.
func TestUnitVerify(t *testing.T) {
	bin := needTool(t, "systemd-analyze", "systemd")
	pl := mustRender(t, mustParams(t))
	path := writeTemp(t, ServiceName, payloadFile(t, pl, "/etc/systemd/system/"+ServiceName).Data, 0o644)
	out, err := exec.Command(bin, "verify", path).CombinedOutput()
	expected := []string{
		"Unit docker.service not found.",
		"Command /usr/bin/docker is not executable: No such file or directory",
	}
	var other []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !slices.ContainsFunc(expected, func(e string) bool { return strings.HasSuffix(line, e) }) {
			other = append(other, line)
		}
	}
	if len(other) > 0 {
		t.Errorf("systemd-analyze verify %s complains:\n%s", ServiceName, strings.Join(other, "\n"))
	}
	if err != nil && len(other) == 0 && !strings.Contains(string(out), "docker") {
		t.Errorf("systemd-analyze verify failed without saying why: %v\n%s", err, out)
	}
}

func TestWriteDir(t *testing.T) {
	pl := mustRender(t, mustParams(t))
	dir := t.TempDir()
	// A second write over the first must still leave the right modes.
	for range 2 {
		if err := pl.WriteDir(dir); err != nil {
			t.Fatalf("WriteDir: %v", err)
		}
	}
	want := append([]File{{Path: "/" + UserDataFile, Mode: 0o600, Data: pl.UserData}}, pl.Files...)
	for _, f := range want {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("WriteDir did not write %s: %v", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from the payload", name)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.Mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), f.Mode)
		}
	}
}

func TestWriteDirRejectsUncleanPath(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"", "relative/file", "../outside", "/../outside", "/a/../../outside", "/a//b"} {
		pl := &Payload{Files: []File{{Path: p, Mode: 0o644, Data: []byte("x")}}}
		if err := pl.WriteDir(filepath.Join(dir, "out")); err == nil {
			t.Errorf("WriteDir with file %q = nil, want an error", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "outside")); err == nil {
		t.Errorf("WriteDir wrote outside its directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "outside")); err == nil {
		t.Errorf("WriteDir wrote a file whose path was not clean")
	}
}
