package tasks

import "testing"

func TestCloudInitFailure(t *testing.T) {
	for _, tt := range []struct{ name, out, want string }{
		{
			// Copied from Debian 12's cloud-init 22.4 on the real first
			// boot (TestDebianFirstBootDockerDown in internal/testvm).
			name: "one module, as cloud-init 22.4 prints it",
			out: "\nstatus: error\nboot_status_code: enabled-by-sysvinit\nlast_update: Fri, 04 Dec 2026 03:24:36 +0000\ndetail:\n" +
				"('scripts-user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands'))\n\n",
			want: "in module scripts-user (('scripts-user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands')))",
		},
		{
			name: "two modules, each named once",
			out: "status: error\ndetail:\n('package_update_upgrade_install', ProcessExecutionError('x'))\n" +
				"('scripts_user', RuntimeError('y'))\n('scripts_user', RuntimeError('z'))\n",
			want: "in module package_update_upgrade_install, scripts_user (('package_update_upgrade_install', ProcessExecutionError('x')))",
		},
		{
			name: "VM text is escaped",
			out:  "status: error\ndetail:\n('runcmd', RuntimeError('<!channel> & <http://x|y>'))\n",
			want: "in module runcmd (('runcmd', RuntimeError('&lt;!channel&gt; &amp; &lt;http://x|y&gt;')))",
		},
		{
			name: "no module named",
			out:  "status: <b>error</b>\n",
			want: "(status: &lt;b&gt;error&lt;/b&gt;)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cloudInitFailure(tt.out); got != tt.want {
				t.Errorf("cloudInitFailure() = %q, want %q", got, tt.want)
			}
		})
	}
}
