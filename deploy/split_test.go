package deploy

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestRenderSplit: the uploaded files render without any key (so .env can
// be rendered again with a new hash at any time), the user-data without a
// hash, and together they are exactly what Render gives.
func TestRenderSplit(t *testing.T) {
	p := mustParams(t)
	whole := mustRender(t, p)

	ud, err := RenderUserData(p.UserData())
	if err != nil || !bytes.Equal(ud, whole.UserData) {
		t.Errorf("RenderUserData = %v, equal to Render's user-data: %v", err, bytes.Equal(ud, whole.UserData))
	}
	files, err := RenderFiles(FilesParams{Name: p.Name, FQDN: p.FQDN, CaddyPasswordHash: p.CaddyPasswordHash})
	if err != nil || !reflect.DeepEqual(files, whole.Files) {
		t.Errorf("RenderFiles without keys = %v, equal to Render's files: %v", err, reflect.DeepEqual(files, whole.Files))
	}

	hash, err := bcrypt.GenerateFromPassword([]byte("another long password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	again, err := RenderFiles(FilesParams{Name: p.Name, FQDN: p.FQDN, CaddyPasswordHash: string(hash)})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range again {
		changed := !bytes.Equal(f.Data, files[i].Data)
		if changed != (f.Path == EnvPath) {
			t.Errorf("%s changed=%v with a new hash; only %s should", f.Path, changed, EnvPath)
		}
		if f.Path == EnvPath && parseEnv(t, f.Data)["CADDY_PASSWORD"] != string(hash) {
			t.Errorf(".env holds %q, want the new hash", parseEnv(t, f.Data)["CADDY_PASSWORD"])
		}
	}

	if _, err := RenderFiles(FilesParams{Name: p.Name, FQDN: p.FQDN, CaddyPasswordHash: "plain"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("RenderFiles with a non-bcrypt hash: %v, want ErrInvalid", err)
	}
	u := p.UserData()
	u.HostKeyPrivate = ""
	if _, err := RenderUserData(u); !errors.Is(err, ErrInvalid) {
		t.Errorf("RenderUserData without a host key: %v, want ErrInvalid", err)
	}
}
