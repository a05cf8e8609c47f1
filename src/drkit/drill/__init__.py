"""Drills: break a real lab on purpose and measure the RTO and RPO achieved against the spec's objectives."""
