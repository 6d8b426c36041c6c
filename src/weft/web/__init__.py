"""The embeddable editor: its page, its built bundle (`dist/`, from `ui/`), error pages."""
