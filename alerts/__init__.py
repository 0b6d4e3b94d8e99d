"""Alerts: who gets told (routing), what they read (rendering) and how it reaches them (channels)."""
