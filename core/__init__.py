"""The shared base under every subsystem: clock, time windows, configuration and the store."""
