package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Fleet answers questions about the class's VMs by joining the roster, what
// the bot remembers of each VM, and what DigitalOcean reports now.
//
// Status only reads: what DigitalOcean reports comes from the CloudView that
// Reconcile, a scheduled job, stores.
type Fleet struct {
	Students StudentService
	VMs      VMService
	Droplets DropletLister // asked by Reconcile only
	Views    CloudViewStore
	Tag      string // the class tag every droplet carries
	Domain   string // e.g. cicf.cloud
	// MaxViewAge is how old the stored view may be before Status calls it
	// stale; DefaultMaxViewAge when zero.
	MaxViewAge time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// VMStatus is one line of the fleet table or one VM card.
type VMStatus struct {
	Name     string
	Student  *Student // nil for a tagged droplet that matches no roster entry
	VM       *VM      // nil when there is no droplet for the student
	Problems []string // empty when all is well
}

// listLag is how long a droplet the bot has just seen (or created) may be
// missing from a list before it counts as gone: lists are shared and can
// be a few seconds older than a run's own record.
const listLag = time.Minute

// FleetStatus is the whole class at one moment.
type FleetStatus struct {
	Items []VMStatus // problems first, then by name
	// CheckedAt is when the status was read; ListedAt when DigitalOcean
	// last answered (zero if never).
	CheckedAt, ListedAt time.Time
	// Stale is set when DigitalOcean's last answer is missing, failed or
	// too old; Items then show what the bot saw last, and StaleWhy says why.
	Stale    bool
	StaleWhy string
}

// FQDN returns the VM's host name, e.g. emma.cicf.cloud.
func (f *Fleet) FQDN(name string) string { return name + "." + f.Domain }

// Reconcile asks DigitalOcean for the class's droplets, records what
// changed for each student's VM, and stores the view Status reads. When
// DigitalOcean cannot be asked it stores the failure (keeping the last
// droplets) and returns the error.
func (f *Fleet) Reconcile(ctx context.Context) error {
	now := f.Now()
	droplets, lerr := f.Droplets.ListDroplets(ctx, f.Tag)
	if lerr != nil {
		v, err := f.Views.CloudView(ctx, f.Tag)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			v = &CloudView{Tag: f.Tag}
		case err != nil:
			return err
		}
		v.CheckedAt, v.Err = now, ErrorMessage(lerr)
		if _, err := f.Views.SaveCloudView(ctx, v); err != nil {
			return err
		}
		return fmt.Errorf("list droplets: %w", lerr)
	}
	students, err := f.Students.ListStudents(ctx)
	if err != nil {
		return fmt.Errorf("list students: %w", err)
	}
	vms, err := f.knownVMs(ctx)
	if err != nil {
		return err
	}
	byName := f.byName(droplets)
	for _, st := range students {
		if err := f.sync(ctx, st.Name, byName[st.Name], vms[st.Name]); err != nil {
			return err
		}
	}
	_, err = f.Views.SaveCloudView(ctx, &CloudView{Tag: f.Tag, Droplets: droplets, ListedAt: now, CheckedAt: now})
	return err
}

// Status lists every roster entry and every tagged droplet from what the
// bot stored: the roster, its VMs and the last CloudView. It calls no API.
func (f *Fleet) Status(ctx context.Context) (*FleetStatus, error) {
	students, err := f.Students.ListStudents(ctx)
	if err != nil {
		return nil, fmt.Errorf("list students: %w", err)
	}
	vms, err := f.knownVMs(ctx)
	if err != nil {
		return nil, err
	}
	fs := &FleetStatus{CheckedAt: f.Now()}
	view, err := f.Views.CloudView(ctx, f.Tag)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		fs.Stale, fs.StaleWhy = true, "DigitalOcean has not been asked yet"
		view = &CloudView{}
	case err != nil:
		return nil, err
	case view.Err != "":
		fs.Stale, fs.StaleWhy = true, view.Err
	case fs.CheckedAt.Sub(view.ListedAt) > f.maxViewAge():
		fs.Stale, fs.StaleWhy = true, "the last list of droplets is "+fs.CheckedAt.Sub(view.ListedAt).Round(time.Second).String()+" old"
	}
	fs.ListedAt = view.ListedAt
	byName := f.byName(view.Droplets)

	onRoster := map[string]bool{}
	for _, s := range students {
		onRoster[s.Name] = true
		st := VMStatus{Name: s.Name, Student: s, VM: vms[s.Name]}
		if ds := byName[s.Name]; st.VM == nil && len(ds) > 0 {
			// Put on the roster since the last reconcile: show the droplet
			// the view holds; the next reconcile records it.
			st.VM = vmFromDroplet(s.Name, oldest(ds))
		}
		st.Problems = f.problems(s, st.VM, byName[s.Name], fs.Stale)
		fs.Items = append(fs.Items, st)
	}
	for name, ds := range byName {
		if onRoster[name] {
			continue
		}
		for _, d := range ds {
			vm := vmFromDroplet(name, d)
			fs.Items = append(fs.Items, VMStatus{
				Name:     name,
				VM:       vm,
				Problems: []string{fmt.Sprintf("droplet %s (id %d) carries the class tag but is not on the roster", d.Name, d.ID)},
			})
		}
	}
	sort.SliceStable(fs.Items, func(i, j int) bool {
		a, b := fs.Items[i], fs.Items[j]
		if (len(a.Problems) > 0) != (len(b.Problems) > 0) {
			return len(a.Problems) > 0
		}
		return a.Name < b.Name
	})
	return fs, nil
}

// StatusOf returns one student's VM status; ENOTFOUND if no such student.
func (f *Fleet) StatusOf(ctx context.Context, name string) (*VMStatus, *FleetStatus, error) {
	if _, err := f.Students.FindStudent(ctx, name); err != nil {
		return nil, nil, err
	}
	fs, err := f.Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i := range fs.Items {
		if fs.Items[i].Name == name && fs.Items[i].Student != nil {
			return &fs.Items[i], fs, nil
		}
	}
	return nil, nil, Errorf(ENOTFOUND, "No student named %q. Try `/cicf roster list`.", name)
}

func (f *Fleet) maxViewAge() time.Duration {
	if f.MaxViewAge > 0 {
		return f.MaxViewAge
	}
	return DefaultMaxViewAge
}

// knownVMs returns what the bot remembers of each VM, by name.
func (f *Fleet) knownVMs(ctx context.Context) (map[string]*VM, error) {
	known, err := f.VMs.ListVMs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list vms: %w", err)
	}
	vms := make(map[string]*VM, len(known))
	for _, vm := range known {
		vms[vm.Name] = vm
	}
	return vms, nil
}

// byName groups droplets by student name.
func (f *Fleet) byName(droplets []Droplet) map[string][]Droplet {
	m := map[string][]Droplet{}
	for _, d := range droplets {
		m[f.nameOf(d.Name)] = append(m[f.nameOf(d.Name)], d)
	}
	return m
}

// sync records the droplet DigitalOcean reports for name if it differs
// from what the bot has. What only the bot knows (pinned host key, last
// reset) is left to the runs that own it.
func (f *Fleet) sync(ctx context.Context, name string, ds []Droplet, old *VM) error {
	var vm *VM
	switch {
	case len(ds) == 0 && (old == nil || old.Status == ""):
		return nil
	case len(ds) == 0 && f.Now().Sub(old.SeenAt) < listLag:
		// A run recorded the droplet moments ago; the list predates it.
		return nil
	case len(ds) == 0:
		vm = &VM{Name: name, DropletID: old.DropletID} // gone: status ""
	default:
		// Prefer the droplet the bot already knows; otherwise the oldest.
		d := oldest(ds)
		for _, c := range ds {
			if old != nil && c.ID == old.DropletID {
				d = c
				break
			}
		}
		vm = vmFromDroplet(name, d)
		if old != nil && old.DropletID != 0 && d.ID != old.DropletID {
			// The bot's droplet is gone and another carries the name. Only a
			// run adopts a droplet (SyncVM ignores this one): record the loss.
			if old.Status == "" {
				return nil
			}
			vm = &VM{Name: name, DropletID: old.DropletID}
		}
	}
	if old != nil && sameCloudView(old, vm) {
		// Nothing changed: the reconcile job, every minute, writes no row
		// for it. SeenAt stays when the row last changed; when DigitalOcean
		// last listed the class is the view's ListedAt.
		return nil
	}
	vm.SeenAt = f.Now()
	if err := f.VMs.SyncVM(ctx, vm); err != nil {
		return fmt.Errorf("record vm %q: %w", name, err)
	}
	return nil
}

func (f *Fleet) problems(s *Student, vm *VM, ds []Droplet, stale bool) []string {
	var p []string
	switch {
	case vm == nil || (vm.Status == "" && !stale):
		if vm != nil && vm.DropletID != 0 {
			p = append(p, fmt.Sprintf("droplet %d is gone (deleted outside the bot?)", vm.DropletID))
		} else if s.PublicKey == "" {
			p = append(p, "waiting for an SSH key")
		} else {
			p = append(p, "not provisioned yet")
		}
	case vm.Status == "off":
		p = append(p, "powered off")
	case vm.Status == "archive":
		p = append(p, "archived")
	}
	if len(ds) > 1 {
		p = append(p, fmt.Sprintf("%d droplets share this name", len(ds)))
	}
	return p
}

// nameOf turns "emma.cicf.cloud" into "emma"; other names stay whole.
func (f *Fleet) nameOf(fqdn string) string {
	if n, ok := strings.CutSuffix(fqdn, "."+f.Domain); ok {
		return n
	}
	return fqdn
}

// oldest returns the droplet of ds created first; ds is not empty.
func oldest(ds []Droplet) Droplet {
	d := ds[0]
	for _, c := range ds[1:] {
		if c.CreatedAt.Before(d.CreatedAt) {
			d = c
		}
	}
	return d
}

// sameCloudView reports whether a and b agree on what the cloud reports.
func sameCloudView(a, b *VM) bool {
	return a.DropletID == b.DropletID && a.Status == b.Status && a.IPv4 == b.IPv4 && a.IPv6 == b.IPv6 &&
		a.Region == b.Region && a.Size == b.Size && a.CreatedAt.Equal(b.CreatedAt)
}

func vmFromDroplet(name string, d Droplet) *VM {
	return &VM{
		Name: name, DropletID: d.ID, Status: d.Status,
		IPv4: d.IPv4, IPv6: d.IPv6, Region: d.Region, Size: d.Size,
		CreatedAt: d.CreatedAt,
	}
}
