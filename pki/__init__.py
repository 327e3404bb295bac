"""The embedded PSrE (CA, CRL/OCSP, key store) and its adapter interface: a pure library."""
