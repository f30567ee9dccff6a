package onion

// Layers exposes a group's layer slice to the tests in package onion_test,
// so that a test can check its own precondition (spare capacity).
func Layers(g *Group) []HandlerFunc { return g.handlers }
