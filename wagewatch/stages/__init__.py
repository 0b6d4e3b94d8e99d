"""Pipeline stages. Each selects its work from the store by state, writes its result in one transaction
per batch and can be re-run at any time."""
