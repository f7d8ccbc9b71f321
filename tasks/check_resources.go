package tasks

import (
	"context"
	"fmt"
	"time"
)

// resourcesCommand reads load, two CPU samples a second apart, memory, the
// root filesystem and the busiest processes, but for its own (ps and head,
// the children of its shell: a ps just started shows a high share of CPU
// and would be named instead of a miner on a loaded VM). It is constant.
const resourcesCommand = `echo '--- load ---'; cat /proc/loadavg; ` +
	`echo '--- stat ---'; head -n1 /proc/stat; sleep 1; head -n1 /proc/stat; ` +
	`echo '--- mem ---'; head -c 8192 /proc/meminfo; ` +
	`echo '--- df ---'; df -P / | head -c 4096; ` +
	`echo '--- ps ---'; ps --ppid $$ -N -o pid,user:32,pcpu,etimes,comm --no-headers --sort=-pcpu 2>/dev/null | head -n 5; true`

// diskFailPercent is the root filesystem use at which resources fail:
// JupyterLab and apt break on a full disk. memFailPercent is the memory in
// use at which they fail: the kernel is about to kill the biggest process,
// usually the student's notebook kernel.
const (
	diskFailPercent = 95
	memFailPercent  = 95
)

// checkResources reads load, CPU, memory and disk. High CPU alone does not
// fail: the sweep fails it once it has lasted cpu_for (see sustainCPU),
// keeping when it began in the stored result, not by waiting here.
func (c *Checker) checkResources(ctx context.Context, vm VM) Result {
	rem, err := c.dialVM(ctx, vm)
	if err != nil {
		return c.result(vm, CheckResources, CheckUnknown, "SSH does not answer")
	}
	out, err := rem.Run(ctx, resourcesCommand)
	rem.Close()
	if err != nil {
		return c.result(vm, CheckResources, CheckUnknown, "reading resources failed")
	}
	return c.resourcesResult(vm, string(out))
}

// resourcesResult turns resourcesCommand's answer into a result.
func (c *Checker) resourcesResult(vm VM, out string) Result {
	sec := sections(out)
	res := c.result(vm, CheckResources, CheckOK, "")
	res.Numbers = map[string]float64{}
	if v, ok := parseLoadavg(sec["load"]); ok {
		res.Numbers["load1"] = v
	}
	cpu, okCPU := 0.0, false
	if ts := parseProcStat(sec["stat"]); len(ts) == 2 {
		cpu, okCPU = cpuPercent(ts[0], ts[1])
	}
	if !okCPU {
		res.Status, res.Detail = CheckUnknown, "CPU use unreadable"
		return res
	}
	res.Value = cpu
	res.Numbers["cpu_percent"] = cpu
	mem, okMem := parseMeminfo(sec["mem"])
	if okMem {
		res.Numbers["mem_percent"] = mem
	}
	disk, okDisk := parseDF(sec["df"])
	if okDisk {
		res.Numbers["disk_percent"] = disk
	}
	res.Detail = fmt.Sprintf("CPU %.0f%%, memory %.0f%%, disk %.0f%%", cpu, mem, disk)
	if okMem && mem >= memFailPercent {
		res.Status = CheckFail
		res.Detail = fmt.Sprintf("memory %.0f%% used", mem)
		res.Fix = "Find what holds it: ps aux --sort=-rss | head; restart a notebook's kernel to free its memory"
	}
	if okDisk && disk >= diskFailPercent {
		res.Status = CheckFail
		res.Detail = fmt.Sprintf("disk %.0f%% full", disk)
		res.Fix = "Free space: du -sh ~/* | sort -h"
	}
	if cpu >= c.Config.CPUPercent {
		res.Since = res.At // sustainCPU moves it back to when it began
		if ps := parsePS(sec["ps"]); len(ps) > 0 {
			top := ps[0]
			res.Numbers["top_pid"] = float64(top.PID)
			res.Detail = fmt.Sprintf("CPU %.0f%%; top process %s (pid %d, user %s, started %s)",
				cpu, top.Command, top.PID, top.User, res.At.Add(-time.Duration(top.Elapsed)*time.Second).UTC().Format("2006-01-02 15:04 MST"))
			res.Fix = fmt.Sprintf("If you did not start %s, it may be a crypto miner: kill %d, then change your passwords", top.Command, top.PID)
		}
	}
	return res
}

// sustainCPU carries high CPU across sweeps: prev is the VM's previous
// resources result. CPU at or above the threshold keeps prev's Since; once
// it has lasted cpu_for the result fails, at once (Immediate): cpu_for
// already waited out the blips that fire_after is for.
func sustainCPU(cfg AlertConfig, prev *Result, r Result) Result {
	if r.Check != CheckResources || r.Since.IsZero() {
		return r
	}
	if prev != nil && !prev.Since.IsZero() && prev.Since.Before(r.Since) {
		r.Since = prev.Since
	}
	if lasted := r.At.Sub(r.Since); lasted >= cfg.CPUFor {
		r.Status, r.Immediate = CheckFail, true
		r.Detail = fmt.Sprintf("%s, for %s", r.Detail, lasted.Round(time.Second))
	}
	return r
}
