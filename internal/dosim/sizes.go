package dosim

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
)

// listSizes answers GET /v2/sizes with the catalogue, cheapest first, as DO
// orders it.
func (s *Server) listSizes(w http.ResponseWriter, r *http.Request) {
	slugs := slices.SortedFunc(maps.Keys(sizes), func(a, b string) int {
		return cmp.Or(cmp.Compare(sizes[a].priceMonthly, sizes[b].priceMonthly), cmp.Compare(a, b))
	})
	regionSlugs := slices.Sorted(maps.Keys(regions))
	all := make([]sizeJSON, 0, len(slugs))
	for _, slug := range slugs {
		sz := sizes[slug]
		all = append(all, sizeJSON{
			Slug: slug, Memory: sz.memory, Vcpus: sz.vcpus, Disk: sz.disk, Transfer: sz.transfer,
			PriceMonthly: sz.priceMonthly, PriceHourly: sz.priceHourly,
			Regions: regionSlugs, Available: true, Description: sz.description,
		})
	}
	writePage(s, w, r, "sizes", all)
}
