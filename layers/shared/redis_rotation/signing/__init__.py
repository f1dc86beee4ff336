"""Client-side request signing for the providers' APIs, one module per signing scheme."""
