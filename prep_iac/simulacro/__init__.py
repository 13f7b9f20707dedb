"""prep_iac.simulacro"""
