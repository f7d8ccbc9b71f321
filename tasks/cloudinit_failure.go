package tasks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// cloudInitModuleRE finds the modules in cloud-init's error lines, which
// read ('scripts-user', RuntimeError(...)) in cloud-init 22.4.
var cloudInitModuleRE = regexp.MustCompile(`\('([A-Za-z0-9_-]{1,64})', `)

// cloudInitFailure names the failed modules in the output of `cloud-init
// status --long`, with the first error; the text came from the VM, so it
// is clipped and escaped for mrkdwn.
func cloudInitFailure(out string) string {
	var mods []string
	detail := ""
	for _, line := range strings.Split(out, "\n") {
		if m := cloudInitModuleRE.FindStringSubmatch(line); m != nil {
			if !slices.Contains(mods, m[1]) {
				mods = append(mods, m[1])
			}
			if detail == "" {
				detail = strings.TrimSpace(line)
			}
		}
	}
	if len(mods) == 0 {
		return "(" + Escape(firstLine(out)) + ")"
	}
	return fmt.Sprintf("in module %s (%s)", Escape(strings.Join(mods, ", ")), Escape(clip(detail, 200)))
}
