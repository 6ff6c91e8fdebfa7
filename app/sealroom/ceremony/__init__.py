"""The ceremony engine: script model, loader, lint, runner and the ports adapters implement."""
