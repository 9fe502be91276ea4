//! Zone registry: canonical grid zones, balancing-authority and cloud-region aliases, annual means.
