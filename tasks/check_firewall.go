package tasks

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// firewallCommand lists, on the VM, the listening sockets with their
// processes, the process table and, where Docker runs, what containers
// publish. It is constant; each part is cut to maxAnswer bytes.
const firewallCommand = `echo '--- ss ---'; ss -ltnpH 2>/dev/null | head -c 65536; ` +
	`echo '--- docker ---'; if command -v docker >/dev/null 2>&1; then docker ps --format '{{.Names}}\t{{.Ports}}' 2>/dev/null | head -c 16384; fi; ` +
	`echo '--- ps ---'; ps -eo pid,user:32,pcpu,etimes,comm --no-headers 2>/dev/null | head -c 32768; true`

// checkFirewall scans the VM from outside; any open port beyond the allowed
// ones fails at once. Then it asks the VM over SSH which process or
// container listens there, because Docker-published ports bypass ufw and the
// fix differs.
func (c *Checker) checkFirewall(ctx context.Context, vm VM) Result {
	if vm.IPv4 == "" {
		return c.result(vm, CheckFirewall, CheckUnknown, "no address")
	}
	found, err := c.Scanner.ScanPorts(ctx, []string{vm.IPv4}, c.ScanPorts)
	if err != nil {
		return c.result(vm, CheckFirewall, CheckUnknown, "the scan could not be carried out")
	}
	var extra []int
	for _, p := range found[vm.IPv4] {
		if !c.Config.portAllowed(p) {
			extra = append(extra, p)
		}
	}
	if len(extra) == 0 {
		return c.result(vm, CheckFirewall, CheckOK, fmt.Sprintf("%d open ports, all allowed", len(found[vm.IPv4])))
	}
	sort.Ints(extra)
	res := c.result(vm, CheckFirewall, CheckFail, "")
	res.Immediate, res.Value = true, float64(len(extra))
	res.Numbers = map[string]float64{}
	for _, p := range extra {
		res.Numbers[fmt.Sprintf("port_%d", p)] = 1
	}
	var culprits map[int]culprit
	if rem, err := c.dialVM(ctx, vm); err == nil {
		out, err := rem.Run(ctx, firewallCommand)
		rem.Close()
		if err == nil {
			culprits = findCulprits(string(out))
		} else {
			c.logger().WarnContext(ctx, "firewall: listing sockets failed", "vm", vm.Name, "err", err)
		}
	}
	var details, fixes []string
	for _, p := range extra {
		cu, ok := culprits[p]
		if !ok {
			details = append(details, fmt.Sprintf("port %d is open to the internet (process unknown)", p))
			fixes = append(fixes, fmt.Sprintf("find it with: sudo ss -ltnp 'sport = :%d'", p))
			continue
		}
		details = append(details, fmt.Sprintf("port %d is open to the internet: %s", p, cu.what))
		fixes = append(fixes, cu.fix)
	}
	res.Detail = strings.Join(details, "; ")
	res.Fix = strings.Join(fixes, "; ")
	return res
}

// culprit names what holds a port open and how to close it.
type culprit struct{ what, fix string }

// findCulprits reads firewallCommand's answer into a culprit per port.
// A container publishing the port wins over the docker-proxy process.
func findCulprits(out string) map[int]culprit {
	sec := sections(out)
	users := map[int]Process{}
	for _, p := range parsePS(sec["ps"]) {
		users[p.PID] = p
	}
	m := map[int]culprit{}
	for _, l := range parseSS(sec["ss"]) {
		if isLoopback(l.Addr) || l.Process == "" {
			continue
		}
		what := fmt.Sprintf("process %s (pid %d", l.Process, l.PID)
		if p, ok := users[l.PID]; ok {
			what += ", user " + p.User
		}
		what += fmt.Sprintf(", listening on %s)", l.Addr)
		m[l.Port] = culprit{what, fmt.Sprintf("make %s listen on 127.0.0.1 only, or stop it: kill %d", l.Process, l.PID)}
	}
	docker := map[int]bool{}
	for _, p := range parseDockerPS(sec["docker"]) {
		// Docker lists a port once per address family; the first names it.
		if isLoopback(p.HostIP) || docker[p.HostPort] {
			continue
		}
		docker[p.HostPort] = true
		m[p.HostPort] = culprit{
			fmt.Sprintf("Docker container %s publishes %s:%d->%d (Docker-published ports bypass ufw)", p.Container, p.HostIP, p.HostPort, p.ContainerPort),
			fmt.Sprintf("publish it on 127.0.0.1 only: -p 127.0.0.1:%d:%d", p.HostPort, p.ContainerPort),
		}
	}
	return m
}

func isLoopback(addr string) bool {
	return strings.HasPrefix(addr, "127.") || addr == "::1" || addr == "localhost"
}
