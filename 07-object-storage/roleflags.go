package main

import (
	"flag"
	"slices"
	"strings"

	"github.com/gocourse/gateway/01-backends/serve"
)

// flagRoles says which roles read each flag that not every role reads.
// A flag given to a role that ignores it is refused, not ignored: with
// -role api, "-replicas 3" would otherwise look as if it did something
// (it is the metadata server's), and a typo of role would go unseen.
// -role, -listen, and the flags of every role are not listed.
var flagRoles = map[string][]string{
	"data":         {"all", "meta", "data"},
	"meta":         {"data", "api"}, // -role all runs its own metadata server
	"replicas":     {"all", "meta"},
	"quorum":       {"all", "meta"},
	"timeout":      {"all", "meta"},
	"grace":        {"all", "meta"},
	"repair-every": {"all", "meta"},
	"gc-every":     {"all", "meta"},
	"gc-grace":     {"all", "meta"},
	"keep":         {"all", "meta"},
	"heartbeat":    {"all", "data"},
	"capacity":     {"all", "data"},
	"scrub-every":  {"all", "data"},
	"scrub-rate":   {"all", "meta", "data"},
	"copy-rate":    {"all", "meta", "data"},
	"max-size":     {"all", "data", "api", "gateway"},
	"targets":      {"gateway"}, // -role all's gateway is in front of its own API servers
	"admin":        {"all", "gateway"},
	"api-key":      {"all", "gateway"},
	"rate":         {"all", "gateway"},
}

// checkRoleFlags refuses the first flag set on the command line that
// role does not read.
func checkRoleFlags(fs *flag.FlagSet, role string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		roles, ok := flagRoles[f.Name]
		if err == nil && ok && !slices.Contains(roles, role) {
			err = serve.Usagef("-%s does nothing with -role %s: it is for -role %s", f.Name, role, strings.Join(roles, ", "))
		}
	})
	return err
}
