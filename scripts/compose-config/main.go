// compose-config loads Compose files the way `docker compose config` does — compose-go's loader,
// the library docker compose itself uses: interpolation from the environment and an env file,
// validation against the Compose Specification's JSON schema, then the consistency checks
// (services, networks, volumes and secrets that are referenced must be declared) — and prints
// the normalized project as YAML. It exits 1 naming what is wrong when a file is rejected.
//
// Usage: compose-config [-env-file FILE] compose.yaml [override.yaml …]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env-file", "", "file of VARIABLE=value lines used for interpolation (like docker compose --env-file)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-config [-env-file FILE] compose.yaml [override.yaml …]")
		os.Exit(2)
	}
	options := []cli.ProjectOptionsFn{cli.WithOsEnv, cli.WithConsistency(true), cli.WithNormalization(true)}
	if *envFile != "" {
		options = append(options, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	} else {
		options = append(options, cli.WithDotEnv)
	}
	projectOptions, err := cli.NewProjectOptions(flag.Args(), options...)
	if err != nil {
		fail(err)
	}
	project, err := projectOptions.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "Cannot load the Compose project: %v\n", err)
	os.Exit(1)
}
