"""Operating registry clusters: drkit's playbooks run through ansible-runner."""
