"""prep_iac.lab"""
