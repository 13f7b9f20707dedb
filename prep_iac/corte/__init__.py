"""prep_iac.corte"""
