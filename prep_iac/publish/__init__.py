"""prep_iac.publish"""
