package tasks

import "context"

// Step IDs: stored with each run, so a resumed run does the steps it was
// created with. An ID, once released, keeps its meaning.
const (
	stepCreateDroplet  = "create-droplet"
	stepWaitActive     = "wait-active"
	stepPointDNS       = "point-dns"
	stepWaitSSH        = "wait-ssh"
	stepRotateHostKey  = "rotate-host-key"
	stepUploadPayload  = "upload-payload"
	stepStartService   = "start-service"
	stepVerify         = "verify"
	stepDeleteOld      = "delete-old"
	stepDeleteDNS      = "delete-dns"
	stepDeleteDroplets = "delete-droplets"
	stepForgetVM       = "forget-vm"
	stepPowerOn        = "power-on"
	stepPowerOff       = "power-off"
	stepPushKey        = "push-key"
)

// runPlans lists the steps of each kind of run, in order.
var runPlans = map[RunKind][]string{
	RunProvision: {stepCreateDroplet, stepWaitActive, stepPointDNS, stepWaitSSH, stepRotateHostKey, stepUploadPayload, stepStartService, stepVerify, stepPushKey},
	RunReset:     {stepCreateDroplet, stepWaitActive, stepPointDNS, stepWaitSSH, stepRotateHostKey, stepUploadPayload, stepStartService, stepVerify, stepDeleteOld, stepPushKey},
	RunDestroy:   {stepDeleteDNS, stepDeleteDroplets, stepForgetVM},
	RunPowerOn:   {stepPowerOn},
	RunPowerOff:  {stepPowerOff},
}

// stepTable maps each step ID to what it does.
func (x *Runner) stepTable() map[string]step {
	return map[string]step{
		stepCreateDroplet:  {"Create the droplet", 0, x.createDroplet},
		stepWaitActive:     {"Wait for it to boot", x.cfg.BootTimeout, x.waitActive},
		stepPointDNS:       {"Point DNS at it", 0, x.pointDNS},
		stepWaitSSH:        {"Wait for SSH and cloud-init", x.cfg.SSHTimeout, x.waitSSH},
		stepRotateHostKey:  {"Rotate the SSH host key", x.cfg.SSHTimeout, x.rotateHostKey}, // waits for sshd
		stepUploadPayload:  {"Upload JupyterLab and Caddy", 0, x.uploadPayload},
		stepStartService:   {"Start JupyterLab", 0, x.startService},
		stepVerify:         {"Check it from outside", x.cfg.VerifyTimeout, x.verify},
		stepDeleteOld:      {"Delete the old droplet", 0, x.deleteOld},
		stepDeleteDNS:      {"Delete DNS records", 0, x.deleteDNS},
		stepDeleteDroplets: {"Delete the droplet", 0, x.deleteDroplets},
		stepForgetVM:       {"Forget the VM", 0, x.forgetVM},
		stepPushKey:        {"Put the latest SSH key on it", 0, x.pushKeyStep},
		stepPowerOn:        {"Power on", 0, func(ctx context.Context, r *Run) error { return x.power(ctx, r, true) }},
		stepPowerOff:       {"Power off", 0, func(ctx context.Context, r *Run) error { return x.power(ctx, r, false) }},
	}
}

// storedSteps returns the steps r stored, by ID. A step this bot does not
// know (the run was saved by another version) is an error naming it.
func (x *Runner) storedSteps(r *Run) ([]step, error) {
	if len(r.StepIDs) != len(r.Steps) {
		return nil, Errorf(ECONFLICT, "This run stored %d step IDs for %d steps, so it cannot be resumed. Start it again.", len(r.StepIDs), len(r.Steps))
	}
	table := x.stepTable()
	out := make([]step, 0, len(r.StepIDs))
	for _, id := range r.StepIDs {
		s, ok := table[id]
		if !ok {
			return nil, Errorf(ECONFLICT, "This run was saved by another version of the bot: its step %q is unknown here, so it stopped. Start it again.", id)
		}
		out = append(out, s)
	}
	return out, nil
}
