package dosim

// sizeInfo is the part of DO's size catalogue a droplet embeds.
type sizeInfo struct {
	memory, vcpus, disk int
	transfer            float64
	priceMonthly        float64
	priceHourly         float64
	description         string
}

// sizes holds DO's basic droplet sizes with their list prices.
var sizes = map[string]sizeInfo{
	"s-1vcpu-512mb-10gb": {512, 1, 10, 0.5, 4, 0.00595, "Basic"},
	"s-1vcpu-1gb":        {1024, 1, 25, 1, 6, 0.00893, "Basic"},
	"s-1vcpu-2gb":        {2048, 1, 50, 2, 12, 0.01786, "Basic"},
	"s-2vcpu-2gb":        {2048, 2, 60, 3, 18, 0.02679, "Basic"},
	"s-2vcpu-4gb":        {4096, 2, 80, 4, 24, 0.03571, "Basic"},
	"s-4vcpu-8gb":        {8192, 4, 160, 5, 48, 0.07143, "Basic"},
}

// regions maps region slugs to DO's display names.
var regions = map[string]string{
	"ams3": "Amsterdam 3",
	"blr1": "Bangalore 1",
	"fra1": "Frankfurt 1",
	"lon1": "London 1",
	"nyc1": "New York 1",
	"nyc3": "New York 3",
	"sfo3": "San Francisco 3",
	"sgp1": "Singapore 1",
	"syd1": "Sydney 1",
	"tor1": "Toronto 1",
}

// imageInfo is the part of DO's image catalogue a droplet embeds.
type imageInfo struct {
	id           int
	name         string
	distribution string
	minDisk      int
}

var images = map[string]imageInfo{
	"debian-12-x64":    {139297440, "12 x64", "Debian", 10},
	"ubuntu-24-04-x64": {160232537, "24.04 (LTS) x64", "Ubuntu", 10},
}
