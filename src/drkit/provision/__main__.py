"""Pulumi's entry point (Pulumi.yaml `main: src/drkit/provision/`)."""

from drkit.provision.entry import main

main()
