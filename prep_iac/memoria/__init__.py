"""prep_iac.memoria"""
