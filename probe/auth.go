package probe

import "context"

// basicAuth holds credentials for one request; never logged.
type basicAuth struct{ user, password string }

// HTTPSAuth is HTTPS with basic-auth credentials, as a student's browser
// sends them after the password prompt: it returns the status code (401
// when Caddy refuses them). The password travels only in the request's
// Authorization header, never in the URL, so no error message holds it.
func (p *Prober) HTTPSAuth(ctx context.Context, ip, fqdn, user, password string) (int, error) {
	status, _, err := p.get(ctx, ip, fqdn, &basicAuth{user: user, password: password})
	return status, err
}
