"""Developer tools that run outside the Pulumi program (no pulumi imports)."""
