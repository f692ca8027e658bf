"""One router per concern; opsagent.api.app mounts them."""
