"""One spider per platform; a spider's `name` is its source name in config/sources.yaml."""
