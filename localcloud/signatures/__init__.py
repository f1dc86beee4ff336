"""Server-side signature checks for the emulators, built on the layer's pure signing steps."""
