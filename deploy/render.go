package deploy

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed templates
var templateFS embed.FS

// Templates get only validated values (see Params.normalize); yamlq and
// indent exist so that even those are quoted by construction rather than by
// care in each template.
var templates = template.Must(template.New("").
	Option("missingkey=error").
	Funcs(template.FuncMap{"yamlq": yamlQuote, "indent": indent}).
	ParseFS(templateFS, "templates/*.tmpl"))

// File is one payload file, to be placed on the VM at Path (absolute) with Mode.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// Payload is everything one VM needs: UserData goes to the DO create call;
// Files are uploaded over SSH after first boot, because user-data stays
// readable from inside the droplet through the metadata service.
type Payload struct {
	UserData []byte
	Files    []File
}

// EnvPath is where the .env with the JupyterLab password hash goes on the VM.
const EnvPath = DataDir + "/.env"

// dockerKey is Docker's armored apt repository key, shipped inside the
// user-data so the VM needs no keyserver, no gpg and no dirmngr. Its
// fingerprint is checked against Docker's published one by
// TestDockerKeyFingerprint, with gpg as the oracle.
//
//go:embed templates/docker.asc
var dockerKey string

// UserDataFile is the name WriteDir gives the cloud-init user-data.
const UserDataFile = "user-data.yaml"

// payloadFiles lists the uploaded files in the order they are installed:
// the unit last, once everything it starts is in place.
var payloadFiles = []struct {
	vmPath, tmpl string
	mode         fs.FileMode
	raw          bool // copied as is: the file has no per-VM values
}{
	{DataDir + "/compose.yml", "compose.yml", 0o644, true},
	{DataDir + "/Caddyfile", "Caddyfile", 0o644, true},
	// 0600: the hash is offline-crackable, and other users on the VM (or a
	// compromised container running as another uid) have no need for it.
	{EnvPath, "env.tmpl", 0o600, false},
	{DataDir + "/work/welcome.ipynb", "welcome.ipynb.tmpl", 0o644, false},
	{"/etc/systemd/system/" + ServiceName, ServiceName + ".tmpl", 0o644, false},
}

// Render validates p and renders the whole payload for it (what
// `cicf-bot render` writes). It returns an error wrapping ErrInvalid if p
// does not validate, and another error only if a template is broken.
func Render(p Params) (*Payload, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	ud, err := RenderUserData(p.UserData())
	if err != nil {
		return nil, err
	}
	files, err := RenderFiles(p.Files())
	if err != nil {
		return nil, err
	}
	return &Payload{UserData: ud, Files: files}, nil
}

// RenderUserData validates p and renders the first-boot cloud-init
// user-data. Errors are as Render's.
func RenderUserData(p UserDataParams) ([]byte, error) {
	v, err := p.normalize()
	if err != nil {
		return nil, err
	}
	return execute("user-data.yaml.tmpl", v)
}

// RenderFiles validates p and renders the files uploaded over SSH, in the
// order they are installed. It needs no host key, so .env can be rendered
// again whenever the password changes. Errors are as Render's.
func RenderFiles(p FilesParams) ([]File, error) {
	v, err := p.normalize()
	if err != nil {
		return nil, err
	}
	var files []File
	for _, f := range payloadFiles {
		var data []byte
		if f.raw {
			data, err = templateFS.ReadFile("templates/" + f.tmpl)
		} else {
			data, err = execute(f.tmpl, v)
		}
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", f.vmPath, err)
		}
		files = append(files, File{Path: f.vmPath, Mode: f.mode, Data: data})
	}
	return files, nil
}

func execute(name string, v *view) ([]byte, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// WriteDir writes the payload under dir for inspection (cicf-bot render):
// UserDataFile at the top, and each file at dir + its VM path, with its
// mode. It returns the first error from creating a directory or writing a
// file; files already written stay.
func (pl *Payload) WriteDir(dir string) error {
	// user-data holds the first-boot host private key.
	if err := writeFile(filepath.Join(dir, UserDataFile), pl.UserData, 0o600); err != nil {
		return err
	}
	for _, f := range pl.Files {
		// Clean and absolute, so it stays under dir and means what it says.
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return fmt.Errorf("write payload: path %q is not absolute and clean", f.Path)
		}
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(name string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	// WriteFile applies the umask and keeps the mode of an existing file.
	if err := os.Chmod(name, mode); err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	return nil
}

// yamlQuote returns s as a double-quoted scalar. A JSON string is one, and
// its escapes are a subset of YAML's, so "#", ": " and the like in an SSH key
// comment stay part of the value.
func yamlQuote(s string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// indent prefixes every line of s with n spaces, for YAML literal blocks.
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return pad + strings.Join(lines, "\n"+pad)
}
