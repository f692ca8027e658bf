"""opsagent: an offline-first ops assistant and incident-response agent."""

from __future__ import annotations

__version__ = "0.1.0"
