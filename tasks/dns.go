package tasks

import (
	"context"
	"slices"
)

// ownRecords lists name's A and AAAA records and splits them into the
// bot's and the others. A record the store does not know but that points at
// this run's droplet or the VM's last known address is the bot's too, and is
// remembered: one created just before a crash, or by a bot older than the
// store of record IDs.
func (x *Runner) ownRecords(ctx context.Context, r *Run) (mine, foreign []DNSRecord, err error) {
	recs, err := x.d.Cloud.ListRecords(ctx, x.cfg.Domain, r.VM)
	if err != nil {
		return nil, nil, err
	}
	owned, err := x.d.Records.RecordIDs(ctx, x.cfg.Domain, r.VM)
	if err != nil {
		return nil, nil, err
	}
	ours := []string{r.Data.IPv4, r.Data.IPv6}
	if vm, err := x.d.VMs.FindVM(ctx, r.VM); err == nil {
		ours = append(ours, vm.IPv4, vm.IPv6)
	} else if ErrorCode(err) != ENOTFOUND {
		return nil, nil, err
	}
	var adopt []int
	for _, rec := range recs {
		switch {
		case slices.Contains(owned, rec.ID):
			mine = append(mine, rec)
		case rec.Data != "" && slices.Contains(ours, rec.Data):
			mine, adopt = append(mine, rec), append(adopt, rec.ID)
		default:
			foreign = append(foreign, rec)
		}
	}
	if len(adopt) > 0 {
		if err := x.d.Records.AddRecordIDs(ctx, x.cfg.Domain, r.VM, adopt); err != nil {
			return nil, nil, err
		}
	}
	return mine, foreign, nil
}

// foreignRecordError names the first record the bot did not create.
func (x *Runner) foreignRecordError(r *Run, rec DNSRecord) error {
	return Errorf(ECONFLICT, "%s already has a DNS %s record (%s, record %d) that the bot did not create, so this %s stopped rather than take the name over. "+
		"Remove that record in DigitalOcean (Networking, Domains) if it is stale, or give the student another name.",
		x.fqdn(r.VM), rec.Type, rec.Data, rec.ID, r.Kind)
}

// setDNS points name at the run's droplet without touching a record the bot
// did not create, and remembers the records it made.
func (x *Runner) setDNS(ctx context.Context, r *Run) error {
	mine, foreign, err := x.ownRecords(ctx, r)
	if err != nil {
		return err
	}
	if len(foreign) > 0 {
		return x.foreignRecordError(r, foreign[0])
	}
	recs := []DNSRecord{{Type: "A", Name: r.VM, Data: r.Data.IPv4, TTL: x.cfg.DNSTTL}}
	if r.Data.IPv6 != "" {
		recs = append(recs, DNSRecord{Type: "AAAA", Name: r.VM, Data: r.Data.IPv6, TTL: x.cfg.DNSTTL})
	}
	if err := x.d.Cloud.SetRecords(ctx, x.cfg.Domain, r.VM, recs); err != nil {
		return err
	}
	// Every record the name has now is one the bot kept or made.
	after, err := x.d.Cloud.ListRecords(ctx, x.cfg.Domain, r.VM)
	if err != nil {
		return err
	}
	var now, gone []int
	for _, rec := range after {
		now = append(now, rec.ID)
	}
	for _, rec := range mine {
		if !slices.Contains(now, rec.ID) {
			gone = append(gone, rec.ID)
		}
	}
	if err := x.d.Records.AddRecordIDs(ctx, x.cfg.Domain, r.VM, now); err != nil {
		return err
	}
	return x.d.Records.RemoveRecordIDs(ctx, x.cfg.Domain, gone)
}

// deleteDNS deletes the records the bot created for the VM; others stay.
func (x *Runner) deleteDNS(ctx context.Context, r *Run) error {
	mine, foreign, err := x.ownRecords(ctx, r)
	if err != nil {
		return err
	}
	for _, rec := range foreign {
		x.d.Logger.WarnContext(ctx, "leaving a DNS record the bot did not create", "run_id", r.ID, "name", r.VM, "record_id", rec.ID, "type", rec.Type)
	}
	var ids []int
	for _, rec := range mine {
		if err := x.d.Cloud.DeleteRecord(ctx, x.cfg.Domain, rec.ID); err != nil {
			return err
		}
		ids = append(ids, rec.ID)
	}
	return x.d.Records.RemoveRecordIDs(ctx, x.cfg.Domain, ids)
}
