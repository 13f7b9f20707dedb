"""prep_iac.facts"""
