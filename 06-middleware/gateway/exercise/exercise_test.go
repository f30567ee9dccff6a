//go:build exercise

package exercise

import "testing"

// Run with: go test -tags exercise ./06-middleware/gateway/exercise

func TestRegister(t *testing.T) { CheckRegister(t, Register) }
func TestShop(t *testing.T)     { CheckShop(t, ShopFile) }
