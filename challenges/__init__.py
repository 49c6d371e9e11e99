"""Challenge authoring: challenge.toml, anonymization, split, bundles."""
