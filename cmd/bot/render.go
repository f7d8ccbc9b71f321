package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// renderOptions are `cicf-bot render NAME --out DIR`'s arguments.
type renderOptions struct {
	name, out string
}

func parseRenderFlags(args []string, stderr io.Writer) (renderOptions, error) {
	fs := flag.NewFlagSet("cicf-bot render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o renderOptions
	fs.StringVar(&o.out, "out", "", "directory to write the payload into (required)")
	// Accept the name before or after the flags.
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		o.name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.name == "" && fs.NArg() > 0 {
		o.name = fs.Arg(0)
	}
	if o.name == "" || o.out == "" {
		fmt.Fprintln(stderr, "usage: cicf-bot render NAME --out DIR")
		return o, fmt.Errorf("usage")
	}
	return o, nil
}

// render writes what VM NAME would get, without any API call: a dry run an
// instructor can read before provisioning.
func (m *Main) render(ctx context.Context, o renderOptions) error {
	db, err := store.Open(ctx, m.Config.DB, m.Now)
	if err != nil {
		return fmt.Errorf("open store %s: %w", m.Config.DB, err)
	}
	defer db.Close()
	s, err := store.NewStudentService(db).FindStudent(ctx, o.name)
	if err != nil {
		return fmt.Errorf("%s", tasks.ErrorMessage(err))
	}
	signer, err := sshclient.LoadOrCreateKey(m.Config.SSHKey)
	if err != nil {
		return fmt.Errorf("ssh key: %w", err)
	}
	botKey := sshclient.NewDialer(signer, sshclient.DialerConfig{Logger: m.Logger}).PublicKey()
	pl, hostKey, err := tasks.RenderPayload(s, s.Name+"."+m.Config.Domain, botKey)
	if err != nil {
		return fmt.Errorf("%s", tasks.ErrorMessage(err))
	}
	if err := pl.WriteDir(o.out); err != nil {
		return err
	}
	paths := []string{"user-data.yaml (cloud-init)"}
	for _, f := range pl.Files {
		paths = append(paths, fmt.Sprintf("%s (mode %04o)", f.Path, f.Mode.Perm()))
	}
	sort.Strings(paths[1:])
	fmt.Fprintf(m.Stdout, "Wrote the payload of %s.%s to %s:\n", s.Name, m.Config.Domain, o.out)
	for _, p := range paths {
		fmt.Fprintf(m.Stdout, "  %s\n", p)
	}
	fmt.Fprintf(m.Stdout, "The host key in user-data is one made for this dry run (%s); provisioning makes and pins its own.\n"+
		"The JupyterLab password hash is of a random, forgotten password: JupyterLab stays locked until the student sets theirs.\n", tasks.Fingerprint(hostKey))
	return nil
}
