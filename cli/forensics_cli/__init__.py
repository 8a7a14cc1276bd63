"""The `forensics` command."""
