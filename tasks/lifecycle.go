package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/cicf/cicf-bot/deploy"
)

// CommonPorts are checked from outside after provisioning: the services a
// Debian droplet or a careless container would most likely expose. The
// hourly firewall job scans far more.
var CommonPorts = []int{21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995,
	1723, 2375, 2376, 3000, 3306, 3389, 5000, 5432, 5900, 6379, 8000, 8080, 8443, 8888, 9000, 9090, 27017}

// prepare checks that the run makes sense now and records what it needs.
func (x *Runner) prepare(ctx context.Context, r *Run) error {
	if err := ValidateName(r.VM); err != nil {
		return err
	}
	switch r.Kind {
	case RunProvision, RunReset:
		s, err := x.d.Students.FindStudent(ctx, r.VM)
		if err != nil {
			return err
		}
		if s.PublicKey == "" {
			return Errorf(EINVALID, "%s has no SSH public key yet, so nobody could log in. Add one first: `/cicf key %s PUBKEY`.", r.VM, r.VM)
		}
		if r.Kind == RunReset && s.SlackID != r.RequestedBy {
			// The student must learn the new host key from the bot, not TOFU.
			r.Data.Notify = s.SlackID
		}
	}
	existing, err := x.dropletsOf(ctx, r.VM)
	if err != nil {
		return err
	}
	switch r.Kind {
	case RunProvision:
		if len(existing) > 0 {
			return Errorf(ECONFLICT, "%s already has a VM (droplet %d). To start over, use `/cicf reset %s`.", r.VM, existing[0].ID, r.VM)
		}
	case RunReset:
		if len(existing) == 0 {
			return Errorf(EINVALID, "%s has no VM to reset. Use `/cicf provision %s`.", r.VM, r.VM)
		}
	case RunPowerOn, RunPowerOff:
		if len(existing) == 0 {
			return Errorf(EINVALID, "%s has no VM to power. Use `/cicf provision %s`.", r.VM, r.VM)
		}
		r.Data.DropletID = existing[0].ID
	case RunDestroy:
		if len(existing) == 0 {
			return Errorf(ENOTFOUND, "%s has no droplet to destroy.", r.VM)
		}
	}
	return nil
}

// createDroplet finds the droplet this run created before a crash, or
// creates it. The host key is pinned (saved) before the create request, so
// whichever way a crash falls, the run knows the key its droplet carries.
func (x *Runner) createDroplet(ctx context.Context, r *Run) error {
	if r.Data.DropletID != 0 {
		return nil
	}
	mine, err := x.runDroplets(ctx, r)
	if err != nil {
		return err
	}
	var d *Droplet
	if len(mine) > 0 {
		if r.Data.HostKey == "" {
			return fmt.Errorf("droplet %d of run %d has no pinned host key", mine[0].ID, r.ID)
		}
		d = &mine[0]
	} else {
		s, err := x.d.Students.FindStudent(ctx, r.VM)
		if err != nil {
			return err
		}
		// Checked before a droplet exists (pointDNS checks again). Here,
		// not in prepare, so that starting forty runs sends no extra
		// request per run.
		if _, foreign, err := x.ownRecords(ctx, r); err != nil {
			return err
		} else if len(foreign) > 0 {
			return x.foreignRecordError(r, foreign[0])
		}
		priv, pub, err := NewHostKey()
		if err != nil {
			return err
		}
		// Saved before the request: if the bot dies before the answer, the
		// resumed run knows a droplet may exist and what key it carries.
		r.Data.HostKey, r.Data.CreateSent = pub, true
		if err := x.save(r); err != nil {
			return err
		}
		userData, err := x.renderUserData(s, priv, pub)
		if err != nil {
			return err
		}
		d, err = x.d.Cloud.CreateDroplet(ctx, DropletCreate{
			Name: x.fqdn(r.VM), Region: x.cfg.Region, Size: x.cfg.Size, Image: x.cfg.Image,
			Tags:     []string{x.cfg.Tag, StudentTag(r.VM), RunTag(r.ID)},
			UserData: string(userData), IPv6: true,
		})
		if err != nil {
			return err
		}
	}
	r.Data.DropletID = d.ID
	if err := x.save(r); err != nil {
		return err
	}
	if r.Kind == RunProvision {
		return x.d.VMs.UpsertVM(ctx, &VM{Name: r.VM, DropletID: d.ID, Status: d.Status, Region: x.cfg.Region, Size: x.cfg.Size,
			CreatedAt: d.CreatedAt, HostKey: r.Data.HostKey, SeenAt: x.d.Now()})
	}
	return nil
}

// renderUserData builds the VM's first-boot user-data.
func (x *Runner) renderUserData(s *Student, hostPriv, hostPub string) ([]byte, error) {
	return renderUserData(s, x.fqdn(s.Name), x.d.SSH.PublicKey(), hostPriv, hostPub)
}

// RenderPayload returns exactly what the student's VM would get, with a
// fresh host key (returned in authorized_keys format), for a dry run. It
// returns EINVALID when the student has no key.
func RenderPayload(s *Student, fqdn, botKey string) (*deploy.Payload, string, error) {
	if s.PublicKey == "" {
		return nil, "", Errorf(EINVALID, "%s has no SSH public key yet; add one with `/cicf key %s PUBKEY`.", s.Name, s.Name)
	}
	priv, pub, err := NewHostKey()
	if err != nil {
		return nil, "", err
	}
	userData, err := renderUserData(s, fqdn, botKey, priv, pub)
	if err != nil {
		return nil, "", err
	}
	files, err := renderFiles(s, fqdn)
	if err != nil {
		return nil, "", err
	}
	return &deploy.Payload{UserData: userData, Files: files}, pub, nil
}

func renderUserData(s *Student, fqdn, botKey, hostPriv, hostPub string) ([]byte, error) {
	userData, err := deploy.RenderUserData(deploy.UserDataParams{
		Name: s.Name, FQDN: fqdn, StudentKey: s.PublicKey, BotKey: botKey, HostKeyPrivate: hostPriv, HostKeyPublic: hostPub,
	})
	return userData, payloadError(s, err)
}

// renderFiles renders the uploaded files with the hash of a fresh random
// password: JupyterLab stays closed until the student sets their own. The
// password has 192 random bits and is thrown away, so bcrypt's minimum cost
// loses nothing (the cost slows guessing a person's password, and there is
// none to guess).
func renderFiles(s *Student, fqdn string) ([]deploy.File, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(randomPassword()), bcrypt.MinCost)
	if err != nil {
		return nil, fmt.Errorf("hash random password: %w", err)
	}
	files, err := deploy.RenderFiles(deploy.FilesParams{
		Name: s.Name, FQDN: fqdn, CaddyUser: deploy.DefaultCaddyUser, CaddyPasswordHash: string(hash),
	})
	return files, payloadError(s, err)
}

func payloadError(s *Student, err error) error {
	if errors.Is(err, deploy.ErrInvalid) {
		return Errorf(EINVALID, "The VM payload for %s cannot be built: %v.", s.Name, err)
	}
	return err
}

func (x *Runner) waitActive(ctx context.Context, r *Run) error {
	id := r.Data.DropletID
	return x.poll(ctx, fmt.Sprintf("droplet %d to become active", id), func() (bool, error) {
		d, err := x.droplet(ctx, id)
		switch {
		case ErrorCode(err) == EUNAVAILABLE:
			return false, nil // keep waiting; the deadline decides
		case err != nil:
			return false, err
		case d == nil || d.Status != "active" || d.IPv4 == "":
			return false, nil
		}
		r.Data.IPv4, r.Data.IPv6 = d.IPv4, d.IPv6
		if err := x.deleteExtras(ctx, r, id); err != nil {
			return false, err
		}
		return true, x.save(r)
	})
}

// pointDNS makes the name resolve to the new droplet before Caddy asks
// Let's Encrypt for a certificate, and switches the VM record to it.
func (x *Runner) pointDNS(ctx context.Context, r *Run) error {
	if err := x.setDNS(ctx, r); err != nil {
		return err
	}
	vm, err := x.d.VMs.FindVM(ctx, r.VM)
	if ErrorCode(err) == ENOTFOUND {
		vm, err = &VM{Name: r.VM}, nil
	}
	if err != nil {
		return err
	}
	// The shared list saw the droplet active moments ago (waitActive).
	d, err := x.droplet(ctx, r.Data.DropletID)
	if err != nil {
		return err
	}
	if d == nil {
		return Errorf(EUNAVAILABLE, "Droplet %d vanished from DigitalOcean's list.", r.Data.DropletID)
	}
	vm.DropletID, vm.Status, vm.IPv4, vm.IPv6 = d.ID, d.Status, d.IPv4, d.IPv6
	vm.Region, vm.Size, vm.CreatedAt, vm.SeenAt = d.Region, d.Size, d.CreatedAt, x.d.Now()
	vm.HostKey = r.Data.HostKey
	if r.Kind == RunReset {
		vm.LastResetAt = x.d.Now()
	}
	return x.d.VMs.UpsertVM(ctx, vm)
}

func (x *Runner) deleteOld(ctx context.Context, r *Run) error {
	// Asked afresh: every droplet of the student but this run's goes, also
	// one a half-done earlier reset left.
	all, err := x.classDroplets(ctx, 0)
	if err != nil {
		return err
	}
	keep := r.Data.DropletID
	for _, d := range all {
		if d.ID != keep && (d.Name == x.fqdn(r.VM) || slices.Contains(d.Tags, StudentTag(r.VM))) {
			if err := x.d.Cloud.DeleteDroplet(ctx, d.ID, x.cfg.Tag); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *Runner) deleteDroplets(ctx context.Context, r *Run) error {
	ds, err := x.dropletsOf(ctx, r.VM)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := x.d.Cloud.DeleteDroplet(ctx, d.ID, x.cfg.Tag); err != nil {
			return err
		}
	}
	return nil
}

func (x *Runner) forgetVM(ctx context.Context, r *Run) error {
	if err := x.d.VMs.DeleteVM(ctx, r.VM); err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	return nil
}

// power switches the droplet and records its new state, so that status,
// which reads only the store, shows it before the next reconcile.
func (x *Runner) power(ctx context.Context, r *Run, on bool) error {
	if err := x.d.Cloud.PowerDroplet(ctx, r.Data.DropletID, on); err != nil {
		return err
	}
	vm, err := x.d.VMs.FindVM(ctx, r.VM)
	if err != nil {
		return err
	}
	vm.Status = "off"
	if on {
		vm.Status = "active"
	}
	vm.SeenAt = x.d.Now()
	return x.d.VMs.SyncVM(ctx, vm)
}
