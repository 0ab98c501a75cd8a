// Command gatehouse is the Gatehouse API gateway: `gatehouse serve` runs it,
// `gatehouse plugin validate` checks a policy module.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
