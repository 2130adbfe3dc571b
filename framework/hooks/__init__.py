"""The plugin contract (specs), its markers, and the host that loads plugins by entry point."""
