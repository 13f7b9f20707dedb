"""prep_iac.components"""
