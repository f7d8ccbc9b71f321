package dosim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// dropletJSON is the droplet object of the v2 API, with the fields the real
// one always sends (godo ignores some of them).
type dropletJSON struct {
	ID          int          `json:"id"`
	Name        string       `json:"name"`
	Memory      int          `json:"memory"`
	Vcpus       int          `json:"vcpus"`
	Disk        int          `json:"disk"`
	Locked      bool         `json:"locked"`
	Status      string       `json:"status"`
	Kernel      *struct{}    `json:"kernel"`
	CreatedAt   string       `json:"created_at"`
	Features    []string     `json:"features"`
	BackupIDs   []int        `json:"backup_ids"`
	SnapshotIDs []int        `json:"snapshot_ids"`
	Image       imageJSON    `json:"image"`
	VolumeIDs   []string     `json:"volume_ids"`
	Size        sizeJSON     `json:"size"`
	SizeSlug    string       `json:"size_slug"`
	Networks    networksJSON `json:"networks"`
	Region      regionJSON   `json:"region"`
	Tags        []string     `json:"tags"`
	VPCUUID     string       `json:"vpc_uuid"`
}

type imageJSON struct {
	ID           int      `json:"id"`
	Name         string   `json:"name"`
	Distribution string   `json:"distribution"`
	Slug         string   `json:"slug"`
	Public       bool     `json:"public"`
	Regions      []string `json:"regions"`
	Type         string   `json:"type"`
	MinDiskSize  int      `json:"min_disk_size"`
	Status       string   `json:"status"`
}

type sizeJSON struct {
	Slug         string   `json:"slug"`
	Memory       int      `json:"memory"`
	Vcpus        int      `json:"vcpus"`
	Disk         int      `json:"disk"`
	Transfer     float64  `json:"transfer"`
	PriceMonthly float64  `json:"price_monthly"`
	PriceHourly  float64  `json:"price_hourly"`
	Regions      []string `json:"regions"`
	Available    bool     `json:"available"`
	Description  string   `json:"description"`
}

type networksJSON struct {
	V4 []networkJSON `json:"v4"`
	V6 []networkJSON `json:"v6"`
}

// networkJSON covers v4 and v6; DO sends the v6 netmask as a number.
type networkJSON struct {
	IPAddress string `json:"ip_address"`
	Netmask   any    `json:"netmask"`
	Gateway   string `json:"gateway"`
	Type      string `json:"type"`
}

type regionJSON struct {
	Name      string   `json:"name"`
	Slug      string   `json:"slug"`
	Features  []string `json:"features"`
	Available bool     `json:"available"`
	Sizes     []string `json:"sizes"`
}

func (d *droplet) json() dropletJSON {
	sp := d.spec
	sz := sizes[sp.Size]
	if sp.PriceMonthly != 0 || sp.PriceHourly != 0 {
		sz.priceMonthly, sz.priceHourly = sp.PriceMonthly, sp.PriceHourly
	}
	img, ok := images[sp.Image]
	if !ok {
		img = imageInfo{id: 100000000 + len(sp.Image), name: sp.Image, distribution: "Unknown", minDisk: 10}
	}
	nets := networksJSON{V4: []networkJSON{}, V6: []networkJSON{}}
	if sp.IPv4 != "" {
		nets.V4 = append(nets.V4,
			networkJSON{IPAddress: fmt.Sprintf("10.114.%d.%d", d.id/256%256, d.id%256), Netmask: "255.255.240.0", Gateway: "nil", Type: "private"},
			networkJSON{IPAddress: sp.IPv4, Netmask: "255.255.240.0", Gateway: gateway4(sp.IPv4), Type: "public"})
	}
	if sp.IPv6 != "" {
		nets.V6 = append(nets.V6, networkJSON{IPAddress: sp.IPv6, Netmask: 64, Gateway: "", Type: "public"})
	}
	return dropletJSON{
		ID: d.id, Name: sp.Name, Memory: sz.memory, Vcpus: sz.vcpus, Disk: sz.disk,
		Status:    sp.Status,
		CreatedAt: sp.CreatedAt.UTC().Format(time.RFC3339),
		Features:  []string{"monitoring", "ipv6", "private_networking"},
		BackupIDs: []int{}, SnapshotIDs: []int{}, VolumeIDs: []string{},
		Image: imageJSON{
			ID: img.id, Name: img.name, Distribution: img.distribution, Slug: sp.Image,
			Public: true, Regions: []string{sp.Region}, Type: "base", MinDiskSize: img.minDisk, Status: "available",
		},
		Size: sizeJSON{
			Slug: sp.Size, Memory: sz.memory, Vcpus: sz.vcpus, Disk: sz.disk, Transfer: sz.transfer,
			PriceMonthly: sz.priceMonthly, PriceHourly: sz.priceHourly,
			Regions: []string{sp.Region}, Available: true, Description: sz.description,
		},
		SizeSlug: sp.Size,
		Networks: nets,
		Region:   regionOf(sp.Region),
		Tags:     append([]string{}, sp.Tags...),
		VPCUUID:  "c1c0f000-0000-4000-8000-00000000" + fmt.Sprintf("%04x", d.id%0x10000),
	}
}

// regionOf returns the region object for slug; every size is offered
// everywhere.
func regionOf(slug string) regionJSON {
	name, ok := regions[slug]
	if !ok {
		name = slug
	}
	return regionJSON{
		Name: name, Slug: slug, Available: true,
		Features: []string{"backups", "ipv6", "metadata", "install_agent", "image_transfer"},
		Sizes:    slices.Sorted(maps.Keys(sizes)),
	}
}

// gateway4 guesses the .1 of the address's /24, which is what DO's look like.
func gateway4(ip string) string {
	for i := len(ip) - 1; i >= 0; i-- {
		if ip[i] == '.' {
			return ip[:i] + ".1"
		}
	}
	return ""
}
