"""prep_iac.conformance"""
