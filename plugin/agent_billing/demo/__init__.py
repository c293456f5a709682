"""The offline demo (`agent-billing demo`) and the real-model chat (`agent-billing chat`)."""
