# Sourced by every stand-in: appends "NAME ARGS..." to the VM's records, as
# the invoking user sees it, for vm.Records() on the host.
printf '%s\n' "${0##*/}${*:+ $*}" >>/var/log/cicf-testvm/records.log
