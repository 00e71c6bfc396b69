// Placeholder until the FDT state sources exist.
