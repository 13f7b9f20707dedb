"""prep_iac.inventory"""
