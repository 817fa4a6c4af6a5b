"""The contract between the gateway and the services.

Both sides import these modules, so a payload or an error is declared once.
"""
