package tasks

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// GroupMin is the fewest VMs failing alike for a class-wide alert; with at
// least half the checked VMs failing, the cause is likely shared (the
// network, DigitalOcean, a bad image) and one message says so.
const GroupMin = 3

// GroupCheck returns the check name of the class-wide alert of check.
func GroupCheck(check string) string { return "group:" + check }

// dependsOnSSH are the checks whose failure means nothing while the VM does
// not answer on SSH: unknown is not down.
var dependsOnSSH = map[string]bool{CheckHTTPS: true, CheckCert: true, CheckFirewall: true, CheckResources: true}

// inhibit returns rs with the results that must not count turned unknown:
// those of a VM whose SSH is down, judged by its SSH result in rs or else
// its stored one (prev). The stored results keep what was found.
func inhibit(rs []Result, prev map[resultKey]Result) []Result {
	down := map[string]bool{}
	for _, r := range prev {
		if r.Check == CheckSSH && r.Status == CheckFail {
			down[r.VM] = true
		}
	}
	for _, r := range rs {
		if r.Check == CheckSSH {
			down[r.VM] = r.Status == CheckFail
		}
	}
	out := make([]Result, len(rs))
	for i, r := range rs {
		if dependsOnSSH[r.Check] && down[r.VM] && r.Status != CheckUnknown {
			r.Status, r.Immediate = CheckUnknown, false
			r.Detail = "not counted: SSH does not answer (" + r.Detail + ")"
		}
		out[i] = r
	}
	return out
}

// groupFailures returns, for each check failing on at least half the
// checkable VMs and at least GroupMin of them, the failing VMs sorted, and
// whether any of those failures was one that fires at once.
func groupFailures(rs []Result, vms []VM, busy map[string]string) (map[string][]string, map[string]bool) {
	checkable := 0
	for _, vm := range vms {
		if notCheckable(vm, busy) == "" {
			checkable++
		}
	}
	failing := map[string][]string{}
	imm := map[string]bool{}
	for _, r := range rs {
		if r.Status == CheckFail {
			failing[r.Check] = append(failing[r.Check], r.VM)
			imm[r.Check] = imm[r.Check] || r.Immediate
		}
	}
	grouped := map[string][]string{}
	for c, names := range failing {
		if len(names) >= GroupMin && 2*len(names) >= checkable {
			sort.Strings(names)
			grouped[c] = names
		} else {
			delete(imm, c)
		}
	}
	return grouped, imm
}

// undecidedGroups returns the checks not failing class-wide this sweep
// only because some VMs' results are unknown: counted as failing, they
// would be. Their class-wide state must not resolve on that: one VM whose
// HTTPS is down makes its certificate unknown, and a class-wide
// certificate alert would resolve and fire again (flap).
func undecidedGroups(rs []Result, vms []VM, busy map[string]string, grouped map[string][]string) map[string]bool {
	checkable := map[string]bool{}
	for _, vm := range vms {
		checkable[vm.Name] = notCheckable(vm, busy) == ""
	}
	var unknown []Result
	for _, r := range rs {
		if r.Status == CheckUnknown && checkable[r.VM] {
			r.Status = CheckFail
			unknown = append(unknown, r)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var failing []Result
	for _, r := range rs {
		if r.Status == CheckFail {
			failing = append(failing, r)
		}
	}
	out := map[string]bool{}
	worst, _ := groupFailures(append(failing, unknown...), vms, busy)
	for c := range worst {
		if _, ok := grouped[c]; !ok {
			out[c] = true
		}
	}
	return out
}

// groupResult is the result of a class-wide check: failing if check is
// grouped this sweep, unknown if it is undecided (see undecidedGroups),
// else ok.
func (p sweepPlan) groupResult(check string, checked int, now time.Time) Result {
	r := Result{Check: GroupCheck(check), Status: CheckOK, Detail: check + " is not failing class-wide", At: now}
	if names, ok := p.grouped[check]; ok {
		r.Status, r.Immediate, r.Value = CheckFail, p.immediate[check], float64(len(names))
		shown := names
		if len(shown) > 10 {
			shown = shown[:10]
		}
		r.Detail = fmt.Sprintf("%s fails on %d of %d VMs: %s", check, len(names), checked, strings.Join(shown, ", "))
		if len(shown) < len(names) {
			r.Detail += fmt.Sprintf(" and %d more", len(names)-len(shown))
		}
		r.Fix = "A shared cause is likely (the bot's network, DigitalOcean, the image); per-VM alerts wait for it."
	} else if p.undecided[check] {
		r.Status, r.Detail = CheckUnknown, check+" is not known on enough VMs to say whether it still fails class-wide"
	}
	return r
}
