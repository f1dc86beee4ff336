"""The provider API emulators: the shared HTTP server and one subpackage per provider."""
