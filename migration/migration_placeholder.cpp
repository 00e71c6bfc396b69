// Placeholder until the protocol sources exist.
