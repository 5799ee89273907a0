"""Model zoo: registry, factories and the model store (work in progress)."""
